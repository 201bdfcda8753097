import sys

if sys.argv[1:2] == ["__complete"]:  # completion without importing the CLI (see complete.py)
    from .complete import main as complete

    complete(sys.argv[2:])
else:
    from .cli import main

    main()
