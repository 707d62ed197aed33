import sys

try:
    from feedconv.cli import main
except KeyboardInterrupt:  # Ctrl-C while starting up: as quiet as later on
    sys.stderr.write("feedconv: interrupted\n")
    sys.exit(130)

main()
