"""Sales' rules, a module per subject: pure functions and state machines, no I/O, the time passed in."""
