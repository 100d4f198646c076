from todosync.cli import main

main()
