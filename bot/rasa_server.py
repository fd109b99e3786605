"""`python -m bot.rasa_server run ...`: Rasa's own command line, in a process prepared like ours
(no telemetry, quiet logs, our components importable, action responses validated without re-checking
the schema)."""
import sys

from nlu.training import prepare_rasa

if __name__ == "__main__":
    prepare_rasa()
    from rasa.__main__ import main

    sys.argv[0] = "rasa"
    main()
