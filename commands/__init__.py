"""The two commands, producer.py and consumer.py, as modules: the scripts at the top of the project only
check that the packages are installed and call run_as_script() here.

Why modules: Python keeps the compiled bytecode of an imported module (__pycache__), but compiles a
script it runs afresh every time, which cost about 10 ms of each start of these 700-line commands.
Dependencies run one way: scripts -> commands -> kafka_cli.
"""
