"""The estimator: the allocation engine's draws for open rounds' chances, in a process of its
own (reads and writes the allocation service's database; see service.py)."""
