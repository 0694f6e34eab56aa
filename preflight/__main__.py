"""``python -m preflight``: see ``preflight.cli``."""

from .cli import main

if __name__ == "__main__":
    main()
