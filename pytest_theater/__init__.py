"""pytest-theater: the pytest plugin of theater-harness (registered through ``pytest11``)."""
