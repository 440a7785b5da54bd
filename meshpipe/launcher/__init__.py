"""Starting the whole system: local processes (local.py) or containers (docker*.py)."""
