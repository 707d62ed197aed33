from feedconv.cli import main

main()
