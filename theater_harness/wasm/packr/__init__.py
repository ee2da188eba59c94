"""The packr ABI: core wasm modules exchanging CGRF v2 values (PACKR.md).

``module`` inspects a packr module (its shape, its ``__pack_types`` metadata, its imports
checked against Theater's interfaces and their hashes); ``instance`` runs one incarnation
of it; ``theater`` holds Theater's conventions (state threading, result unwrapping) and
the conversions between packr values and the host protocol; ``value``, ``cgrf`` and
``types`` are the value model, the wire format and the type metadata.
"""
