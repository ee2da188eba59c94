#!/usr/bin/env escript
%% -*- erlang -*-
%%
%% OTP side of the differential supervision test of theater-harness: runs
%% supervision schedules through REAL OTP `supervisor` processes and prints
%% the events the Python side compares with the harness.
%%
%%     escript tests/otp/otp_supervisors.escript SCHEDULES_FILE
%%
%% SCHEDULES_FILE holds `{schedule, Id, EndMs, Tree, Faults}.` terms
%% (file:consult/1).  Output: per schedule, in input order, one line per
%% event `<Id> <t_ms> <words>` (start/down/fault/missed/end), then
%% `done <N>`.  Exit status 0; 2 with a message on stderr for a malformed
%% file.  THEATER_OTP_VERBOSE=1 adds diagnostics on stderr.
%%
%% Order: every event is stamped where it happens with
%% erlang:unique_integer([monotonic]); exits come from erlang tracing with
%% strict_monotonic_timestamp, whose second element is a value of that same
%% counter.  Events are sorted by stamp, never by arrival.  They are kept in
%% public ETS tables (an insert is complete when it returns, nothing is "in
%% flight"); only trace messages travel, to one tracer process that is
%% flushed with erlang:trace_delivered(all) at the end.
%%
%% Two deliberate choices (see the comments at align_t0/0, canonical/1):
%%  - all trees are built BEFORE time 0, so initial `start` lines have a
%%    t_ms <= 0 and no fault can hit a half-built tree under CPU load;
%%  - the downs orphaned by a KILLED supervisor, whose order OTP leaves
%%    undefined, are printed in one canonical order.
-mode(compile).
-export([init/1, start_node/2, worker_init/3]).

-define(EVENTS, th_events).   % {Id, Stamp, Ms, Words, Info}
-define(PIDS, th_pids).       % {Pid, Id, Name}, written by each tree process
-define(LATE_MS, 100).        % a fault this late may change OTP's second bucket

main([File]) ->
    Schedules = read_schedules(File),
    %% Supervisor crash/progress reports would pollute stdout.
    ok = logger:set_primary_config(level, none),
    ?EVENTS = ets:new(?EVENTS, [named_table, public, duplicate_bag,
                                {write_concurrency, true}]),
    ?PIDS = ets:new(?PIDS, [named_table, public, set, {write_concurrency, true}]),
    %% off_heap: many processes send trace messages to this one tracer at
    %% once; this keeps them from contending for its heap.
    Collector = spawn_opt(fun() -> collector([], none) end, [{message_queue_data, off_heap}]),
    register(th_collector, Collector),
    [{module, M} = code:ensure_loaded(M) || M <- [supervisor, proc_lib, gen_server, gen]],
    Main = self(),
    Runners = [spawn_monitor(fun() -> runner(S, Main) end) || S <- Schedules],
    [wait_runner(R, built) || R <- Runners],
    T0 = align_t0(),
    verbose("T0 = ~p ms (monotonic), ~p schedules", [T0, length(Schedules)]),
    [Pid ! {go, T0} || {Pid, _} <- Runners],
    [wait_runner(R, done) || R <- Runners],
    Collector ! {flush, self()},
    Traces = receive {traces, Tr} -> Tr end,
    verbose("~p exit traces, ~p ms after T0",
            [length(Traces), erlang:monotonic_time(millisecond) - T0]),
    [ets:insert(?EVENTS, down_event(T)) || T <- Traces],
    Out = [schedule_lines(S, T0) || S <- Schedules],
    io:put_chars([Out, io_lib:format("done ~b~n", [length(Schedules)])]),
    halt(0);
main(_) ->
    io:format(standard_error, "usage: otp_supervisors.escript SCHEDULES_FILE~n", []),
    halt(2).

%% ---------------------------------------------------------------------
%% Time 0
%% ---------------------------------------------------------------------

%% OTP's add_restart/1 buckets restarts by erlang:monotonic_time(second).
%% T0 is put exactly on such a second boundary (the conversion floors, also
%% for negative monotonic times), so an event at schedule time t falls in
%% OTP's bucket floor(t/1000) relative to T0, as the harness assumes.
%%
%% The trees are started before this, not at T0: 500 trees take 30-150 ms
%% to start on 2 busy cores, and a fault at 125 ms then found half-built
%% trees (missed faults, wrong outcomes).  Initial starts are not restarts
%% (add_restart/1 is not called), so OTP behaves the same either way.
align_t0() ->
    S = erlang:monotonic_time(second),
    wait_tick(S).

wait_tick(S) ->
    timer:sleep(1),
    case erlang:monotonic_time(second) of
        S -> wait_tick(S);
        S1 -> S1 * 1000
    end.

%% ---------------------------------------------------------------------
%% Per schedule: runner (owns the tree) and injector (fires the faults)
%% ---------------------------------------------------------------------

runner({schedule, Id, EndMs, Tree, Faults}, Main) ->
    process_flag(trap_exit, true),      % the root's exit must not kill us
    Root = case start_node(Id, Tree) of
               {ok, Pid} -> Pid;
               Error -> warn("~s: the root did not start: ~p", [Id, Error]),
                        undefined
           end,
    Main ! {built, self()},
    T0 = receive {go, T} -> T end,
    Injector = spawn_link(fun() -> injector(Id, T0, Faults, parents(Tree)) end),
    EndRef = erlang:start_timer(T0 + EndMs, self(), 'end', [{abs, true}]),
    runner_wait(EndRef),
    log(Id, ['end']),
    %% Tear the tree down; whatever it logs from now on is not reported.
    is_pid(Root) andalso unlink(Root),
    is_pid(Root) andalso exit(Root, kill),
    exit(Injector, kill),
    Main ! {done, self()}.

runner_wait(EndRef) ->
    receive
        {timeout, EndRef, 'end'} -> ok;
        {'EXIT', _, _} -> runner_wait(EndRef)   % root or injector ended
    end.

wait_runner({Pid, Mon}, Tag) ->
    receive
        {Tag, Pid} -> ok;
        {'DOWN', Mon, process, Pid, Reason} ->
            warn("a runner crashed: ~p", [Reason]),
            halt(1)
    end.

%% Fault I fires at T0 + AtMs (absolute monotonic timer, no drift).
%%
%% Faults that share an AtMs (the checker allows that for kills only) happen
%% at one instant: their targets' supervisors are suspended (sys:suspend),
%% every kill is done and waited for, then the supervisors resume and find
%% all those 'EXIT's in their mailboxes at once, in the order of the faults.
injector(Id, T0, Faults, Parents) ->
    Indexed = lists:zip(lists:seq(0, length(Faults) - 1), Faults),
    Groups = lists:foldr(
               fun({_, {At, _, _}} = F, [[{_, {At, _, _}} | _] = G | Rest]) -> [[F | G] | Rest];
                  (F, Acc) -> [[F] | Acc]
               end, [], Indexed),
    lists:foreach(
      fun([{_, {AtMs, _, _}} | _] = Group) ->
              Ref = erlang:start_timer(T0 + AtMs, self(), fault, [{abs, true}]),
              receive {timeout, Ref, fault} -> ok end,
              [log(Id, [fault, I]) || {I, _} <- Group],
              Suspended = case Group of
                              [_] -> [];
                              _ -> suspend([maps:get(N, Parents) || {_, {_, _, N}} <- Group], Id)
                          end,
              [fire(Id, Kind, Name, Suspended =/= []) || {_, {_, Kind, Name}} <- Group],
              [sys:resume(P) || P <- Suspended]
      end, Groups).

fire(Id, Kind, Name, Wait) ->
    case whereis(reg_name(Id, Name)) of
        undefined -> log(Id, [missed, Name]);
        Pid when Kind =:= kill ->
            Mon = monitor(process, Pid),
            exit(Pid, kill),
            Wait andalso receive {'DOWN', Mon, process, Pid, _} -> true end;
        Pid -> Pid ! {fault, Kind}
    end.

%% The running supervisors among these names, each suspended once.
suspend(Names, Id) ->
    Pids = [P || N <- lists:usort(Names), P <- [whereis(reg_name(Id, N))], is_pid(P)],
    [sys:suspend(P) || P <- Pids],
    Pids.

%% Node name -> its parent's name.
parents({sup, Name, _, _, _, Children}) ->
    lists:foldl(fun(C, Acc) -> maps:merge(Acc, parents(C)) end,
                maps:from_list([{element(2, C), Name} || C <- Children]), Children);
parents({worker, _, _, _}) ->
    #{}.

%% ---------------------------------------------------------------------
%% The tree: real supervisors and minimal workers
%% ---------------------------------------------------------------------

%% Start function of every child spec (and of the root), run by the parent.
%%
%% Why the wait: when a supervisor is KILLED its children are orphaned and
%% die asynchronously (the kill cannot be trapped, nobody shuts them down),
%% while its parent already restarts it.  The new incarnation would then try
%% to register names still held by dying old processes and fail
%% (already_started / badarg): an artefact of our naming, not OTP semantics.
%% So we first wait until the old processes of the node's whole subtree are
%% gone.  Otherwise the names are already free (a supervisor shuts its
%% children down synchronously) and this costs one whereis per name.
start_node(Id, Node) ->
    [wait_free(Id, N) || N <- subtree_names(Node)],
    case Node of
        {sup, Name, _, _, _, _} ->
            supervisor:start_link({local, reg_name(Id, Name)}, ?MODULE,
                                  {Id, Node, self()});
        {worker, Name, _, _} ->
            proc_lib:start_link(?MODULE, worker_init, [self(), Id, Name])
    end.

wait_free(Id, Name) ->
    case whereis(reg_name(Id, Name)) of
        undefined -> ok;
        Pid ->
            verbose("~s: waiting for the old ~s to exit", [Id, Name]),
            Mon = monitor(process, Pid),
            receive {'DOWN', Mon, process, Pid, _} -> wait_free(Id, Name) end
    end.

%% supervisor callback: log the start before any child starts.
init({Id, {sup, Name, Flags, _Restart, _Significant, Children}, Parent}) ->
    started(Id, Name, Parent),
    {ok, {Flags, [child_spec(Id, C) || C <- Children]}}.

child_spec(Id, {sup, Name, _, Restart, Significant, _} = Node) ->
    #{id => Name, start => {?MODULE, start_node, [Id, Node]},
      restart => Restart, significant => Significant,
      shutdown => infinity, type => supervisor};
child_spec(Id, {worker, Name, Restart, Significant} = Node) ->
    #{id => Name, start => {?MODULE, start_node, [Id, Node]},
      restart => Restart, significant => Significant,
      shutdown => 5000, type => worker}.

worker_init(Parent, Id, Name) ->
    process_flag(trap_exit, true),
    register(reg_name(Id, Name), self()),
    started(Id, Name, Parent),
    proc_lib:init_ack(Parent, {ok, self()}),
    worker_loop(Parent).

worker_loop(Parent) ->
    receive
        {fault, crash} -> exit(crash);
        {fault, normal} -> exit(normal);
        {'EXIT', Parent, Reason} -> exit(Reason);   % stop when the parent does
        _ -> worker_loop(Parent)
    end.

%% First thing a tree process does: make its pid resolvable (so every
%% traced exit is), trace its own exit, then log `start` (stamped after the
%% trace is on: a process cannot die unobserved after its start was
%% logged).  The parent pid is kept for canonical/1.
started(Id, Name, Parent) ->
    ets:insert(?PIDS, {self(), Id, Name}),
    erlang:trace(self(), true, [procs, strict_monotonic_timestamp,
                                {tracer, whereis(th_collector)}]),
    log(Id, [start, Name], {start, self(), Parent}).

%% ---------------------------------------------------------------------
%% Events
%% ---------------------------------------------------------------------

log(Id, Words) -> log(Id, Words, none).

log(Id, Words, Info) ->
    Stamp = erlang:unique_integer([monotonic]),
    ets:insert(?EVENTS, {Id, Stamp, erlang:monotonic_time(millisecond), Words, Info}).

%% The tracer: keeps exit events, drops the other `procs` events.  On
%% flush it asks for trace_delivered(all) and keeps collecting until the
%% confirmation arrives: every trace message generated before is then in.
collector(Acc, Flush) ->
    receive
        {trace_ts, Pid, exit, Reason, {Ns, U}} ->
            collector([{Pid, Reason, Ns, U} | Acc], Flush);
        {flush, From} ->
            collector(Acc, {erlang:trace_delivered(all), From});
        {trace_delivered, all, Ref} when element(1, Flush) =:= Ref ->
            element(2, Flush) ! {traces, Acc};
        _ ->
            collector(Acc, Flush)
    end.

%% Only tree processes trace themselves, each after writing its pid.
down_event({Pid, Reason, Ns, U}) ->
    [{_, Id, Name}] = ets:lookup(?PIDS, Pid),
    Ms = erlang:convert_time_unit(Ns, nanosecond, millisecond),
    {Id, U, Ms, [down, Name, reason_word(Reason)], {down, Pid}}.

reason_word(normal) -> normal;
reason_word(shutdown) -> shutdown;
reason_word({shutdown, _}) -> shutdown;
reason_word(killed) -> killed;
reason_word(_) -> abnormal.

%% One schedule's lines: stamp order, up to and including `end`.  t_ms is
%% informational; after canonical/1 it is not always non-decreasing.
schedule_lines({schedule, Id, _, _, Faults}, T0) ->
    Sorted = lists:keysort(1, [{S, Ms, W, I} || {_, S, Ms, W, I} <- ets:lookup(?EVENTS, Id)]),
    {Before, After} = lists:splitwith(fun({_, _, W, _}) -> W =/= ['end'] end, Sorted),
    Events = canonical(Before) ++ lists:sublist(After, 1),
    [warn("~s: fault ~b fired ~b ms late", [Id, I, Ms - T0 - At])
     || {_, Ms, [fault, I], _} <- Events,
        At <- [element(1, lists:nth(I + 1, Faults))], Ms - T0 - At > ?LATE_MS],
    [io_lib:format("~s ~b ~s~n", [Id, Ms - T0, lists:join(" ", [word(W) || W <- Words])])
     || {_, Ms, Words, _} <- Events].

%% Canonical order for what OTP leaves undefined.  A killed supervisor X
%% dies at once; its children, then still alive, each get its exit signal
%% (`killed`) and stop independently and concurrently: a worker at once, a
%% sub-supervisor after shutting down its own children (in a defined
%% order).  Those subtrees interleave at random with each other and with
%% what X's parent does meanwhile (restarting, or shutting down X's
%% siblings).  We print them right after X's down, one subtree after the
%% other, last started first (as a supervisor terminates), keeping each
%% subtree's own (defined) order.  That is one of the orders OTP can
%% produce, since nothing else depends on those downs.
canonical(Events) ->
    Starts = [{P, Par, S} || {S, _, _, {start, P, Par}} <- Events],
    Parent = maps:from_list([{P, Par} || {P, Par, _} <- Starts]),
    Born = maps:from_list([{P, S} || {P, _, S} <- Starts]),
    canonical(Events, Parent, Born, #{}, []).

canonical([], _, _, _, Acc) ->
    lists:reverse(Acc);
canonical([{_, _, _, {start, P, _}} = E | Rest], Parent, Born, Alive, Acc) ->
    canonical(Rest, Parent, Born, Alive#{P => true}, [E | Acc]);
canonical([{_, _, _, {down, X}} = E | Rest], Parent, Born, Alive0, Acc) ->
    Alive = maps:remove(X, Alive0),
    Orphans = [P || P <- maps:keys(Alive), descends(P, X, Parent)],
    IsOrphanDown = fun({_, _, _, {down, P}}) -> lists:member(P, Orphans);
                      (_) -> false
                   end,
    {Downs, Rest1} = lists:partition(IsOrphanDown, Rest),
    Children = lists:reverse(lists:sort([{maps:get(C, Born), C}
                                         || C <- Orphans, maps:get(C, Parent) =:= X])),
    Ordered = lists:append(
                [[D || {_, _, _, {down, P}} = D <- Downs, P =:= C orelse descends(P, C, Parent)]
                 || {_, C} <- Children]),
    Ordered =/= Downs andalso verbose("reordered the orphans of ~p", [X]),
    canonical(Rest1, Parent, Born, maps:without(Orphans, Alive),
              lists:reverse(Ordered) ++ [E | Acc]);
canonical([E | Rest], Parent, Born, Alive, Acc) ->
    canonical(Rest, Parent, Born, Alive, [E | Acc]).

descends(P, X, Parent) ->
    case maps:find(P, Parent) of
        {ok, X} -> true;
        {ok, Q} -> descends(Q, X, Parent);
        error -> false
    end.

word(W) when is_atom(W) -> atom_to_list(W);
word(W) when is_integer(W) -> integer_to_list(W);
word(W) -> W.

reg_name(Id, Name) -> list_to_atom("th_" ++ Id ++ "_" ++ Name).

subtree_names({worker, Name, _, _}) -> [Name];
subtree_names({sup, Name, _, _, _, Children}) ->
    [Name | lists:append([subtree_names(C) || C <- Children])].

warn(Fmt, Args) ->
    io:format(standard_error, "otp_supervisors: " ++ Fmt ++ "~n", Args).

verbose(Fmt, Args) ->
    os:getenv("THEATER_OTP_VERBOSE") =:= "1" andalso warn(Fmt, Args).

%% ---------------------------------------------------------------------
%% Input validation: a malformed file is reported (exit 2), never run.
%% ---------------------------------------------------------------------

read_schedules(File) ->
    try
        Terms = case file:consult(File) of
                    {ok, Ts} -> Ts;
                    {error, {Line, Mod, Term}} ->
                        bad("syntax error at line ~p: ~s", [Line, Mod:format_error(Term)]);
                    {error, Reason} ->
                        bad("cannot read: ~s", [file:format_error(Reason)])
                end,
        Ids = [check_schedule(T) || T <- Terms],
        [bad("duplicate schedule id ~s", [Id]) || Id <- lists:usort(Ids -- lists:usort(Ids))],
        Terms
    catch
        throw:{bad, Msg} ->
            io:format(standard_error, "otp_supervisors: ~s: ~s~n", [File, Msg]),
            halt(2)
    end.

bad(Fmt, Args) -> throw({bad, lists:flatten(io_lib:format(Fmt, Args))}).

%% Ids and names are printed as words of a line: no blanks.
is_word(W) ->
    io_lib:printable_latin1_list(W) andalso W =/= []
        andalso not lists:any(fun(C) -> C =< $\s end, W).

check_schedule({schedule, Id, EndMs, Tree, Faults}) ->
    is_word(Id) orelse bad("bad schedule id ~p", [Id]),
    is_integer(EndMs) andalso EndMs >= 0 orelse bad("~s: bad EndMs ~p", [Id, EndMs]),
    is_tuple(Tree) andalso element(1, Tree) =:= sup orelse bad("~s: the root must be a sup node", [Id]),
    Nodes = check_node(Id, Tree, root),
    Names = [N || {N, _} <- Nodes],
    [bad("~s: node name ~s is not unique", [Id, N]) || N <- Names -- lists:usort(Names)],
    is_list(Faults) orelse bad("~s: faults must be a list", [Id]),
    lists:foldl(
      fun({At, Kind, Name} = F, {Prev, PrevKind}) when is_integer(At), At >= Prev ->
              case {Kind, lists:keyfind(Name, 1, Nodes)} of
                  {kill, {_, _}} -> ok;
                  {crash, {_, worker}} -> ok;
                  {normal, {_, worker}} -> ok;
                  _ -> bad("~s: bad fault ~p (kind, or no such target)", [Id, F])
              end,
              At =:= Prev andalso (Kind =/= kill orelse PrevKind =/= kill)
                  andalso bad("~s: faults at one instant (~b ms) must all be kills", [Id, At]),
              {At, Kind};
         (F, _) -> bad("~s: bad or unsorted fault ~p", [Id, F])
      end, {-1, none}, Faults),
    Id;
check_schedule(T) ->
    bad("not a {schedule, Id, EndMs, Tree, Faults} term: ~P", [T, 12]).

%% Returns [{Name, worker | sup}] for the subtree.  ParentAuto: the parent's
%% auto_shutdown, or root (no parent: Restart and Significant are ignored).
%% OTP only accepts significant => true for a non-permanent child of a
%% supervisor whose auto_shutdown is not never.
check_node(Id, {worker, Name, R, Sig} = N, ParentAuto) ->
    check_child(Id, Name, R, Sig, ParentAuto, N),
    [{Name, worker}];
check_node(Id, {sup, Name, Flags, R, Sig, Children} = N, ParentAuto) ->
    check_child(Id, Name, R, Sig, ParentAuto, N),
    case Flags of
        #{strategy := St, intensity := I, period := P, auto_shutdown := A}
          when (St =:= one_for_one orelse St =:= one_for_all orelse St =:= rest_for_one),
               is_integer(I), I >= 0, is_integer(P), P > 0,
               (A =:= never orelse A =:= any_significant orelse A =:= all_significant),
               map_size(Flags) =:= 4, is_list(Children) ->
            [{Name, sup} | lists:append([check_node(Id, C, A) || C <- Children])];
        _ -> bad("~s: bad flags or children of supervisor ~p", [Id, Name])
    end;
check_node(Id, N, _) ->
    bad("~s: bad node ~P", [Id, N, 8]).

check_child(Id, Name, R, Sig, ParentAuto, N) ->
    is_word(Name) orelse bad("~s: bad node name in ~P", [Id, N, 6]),
    lists:member(R, [permanent, transient, temporary])
        orelse bad("~s: bad restart type of ~s", [Id, Name]),
    is_boolean(Sig) orelse bad("~s: bad significant flag of ~s", [Id, Name]),
    Sig andalso ParentAuto =/= root andalso (R =:= permanent orelse ParentAuto =:= never)
        andalso bad("~s: ~s cannot be significant (OTP rejects it)", [Id, Name]),
    ok.
