"""python -m local_kafka start|stop|status|config: a local Kafka (one node or a cluster) that outlives this command."""

import os
import sys

import click

from .broker import (STATE_DIR, KafkaCluster, LauncherError, LocalKafka, check_private_dir, controller_majority,
                     made_by_launcher, read_state, remove_own_dir, stop_processes, write_state)


def print_where(state):
    nodes = state["nodes"]
    shape = "" if len(nodes) == 1 else f"cluster of {len(nodes)} nodes, "
    auto = ", creates topics on first use" if state.get("auto_create_topics") else ""
    if len(nodes) == 1:
        click.echo(f"Kafka {state['kafka_version']} running (pid {nodes[0]['pid']}{auto}), data in {state['workdir']}")
    else:
        click.echo(f"Kafka {state['kafka_version']} {shape}data in {state['workdir']}{auto}")
        for node in nodes:
            up = f"pid {node['pid']}" if node["alive"] else "NOT RUNNING"
            click.echo(f"  node {node['node_id']} ({up})  PLAINTEXT {node['plaintext_bootstrap']}  "
                       f"SASL_SSL {node['sasl_ssl_bootstrap']}  log: {node['log']}")
    click.echo(f"  PLAINTEXT  {state['plaintext_bootstrap']:<22} config: {state['plaintext_config']}")
    click.echo(f"  SASL_SSL   {state['sasl_ssl_bootstrap']:<22} config: {state['sasl_ssl_config']}")
    click.echo(f"  CA certificate: {state['ca_location']}   broker log: {state['log']}")
    click.echo(f"  try: ./consumer.py {state['sasl_ssl_config']}")


def clear_state_dir():
    """Remove what a previous start left, if the launcher made it; otherwise say so and refuse."""
    if remove_own_dir(STATE_DIR):
        return
    check_private_dir(STATE_DIR)
    if any(os.scandir(STATE_DIR)):
        raise click.ClickException(f"{STATE_DIR} holds files local_kafka did not make, so it will not delete or "
                                   "use it; point LOCAL_KAFKA_STATE at a new or empty directory of your own.")


@click.group()
def cli():
    """A real Apache Kafka on loopback (KRaft, PLAINTEXT and SASL_SSL listeners): one node, or a cluster.

    \b
    Example:
        python -m local_kafka start
        ./consumer.py "$(python -m local_kafka config sasl_ssl)"
        python -m local_kafka stop
    """


@cli.command()
@click.option("--brokers", type=click.IntRange(1, 5), default=1, show_default=True,
              help="Nodes, each broker and controller; with 3, topics have 3 replicas and min.insync.replicas 2.")
@click.option("--auto-create-topics", is_flag=True,
              help="Create a topic (3 partitions) when a client asks for one that does not exist, "
                   "as Apache Kafka does by default. Off by default, like Confluent Cloud.")
def start(brokers, auto_create_topics):
    """Start Kafka in the background and print where its client configs are."""
    state = read_state()
    if state and state["running"]:
        if len(state["nodes"]) != brokers or bool(state.get("auto_create_topics")) != auto_create_topics:
            raise click.ClickException("a local Kafka of another shape is already running "
                                       f"({len(state['nodes'])} node(s)); stop it first: python -m local_kafka stop")
        click.echo("already running", err=True)
        print_where(state)
        return
    if os.path.lexists(STATE_DIR):
        clear_state_dir()
    if brokers == 1:
        broker = LocalKafka(workdir=STATE_DIR, keep_workdir=True, auto_create_topics=auto_create_topics)
    else:
        broker = KafkaCluster(brokers, workdir=STATE_DIR, keep_workdir=True, auto_create_topics=auto_create_topics)
    try:
        broker.start()
        write_state(broker)
    except LauncherError as e:
        broker.stop()
        remove_own_dir(STATE_DIR)
        raise click.ClickException(str(e))
    except KeyboardInterrupt:
        broker.stop()
        remove_own_dir(STATE_DIR)
        sys.exit(130)
    click.echo(f"started in {broker.startup_seconds:.1f} s", err=True)
    print_where(read_state())


@cli.command()
def stop():
    """Stop Kafka (controlled shutdown of every node) and remove its data."""
    state = read_state()
    if state is None:
        click.echo("not running", err=True)
        return
    stop_processes([node["pid"] for node in state["nodes"] if node["alive"]],
                   quorum=controller_majority(len(state["nodes"])))
    workdir = state.get("workdir", "")
    if made_by_launcher(workdir):
        remove_own_dir(workdir)
        click.echo("stopped", err=True)
    else:
        click.echo(f"stopped; left {workdir} in place: local_kafka did not make it", err=True)


@cli.command()
def status():
    """Say whether Kafka runs, and where its configs are; exit 1 unless every node runs."""
    state = read_state()
    if not state or not state["running"]:
        click.echo("not running", err=True)
        sys.exit(1)
    print_where(state)
    if not state["alive"]:
        down = [str(node["node_id"]) for node in state["nodes"] if not node["alive"]]
        click.echo(f"node(s) {', '.join(down)} not running", err=True)
        sys.exit(1)


@cli.command()
@click.argument("listener", type=click.Choice(["plaintext", "sasl_ssl"]))
def config(listener):
    """Print the path of the client config for LISTENER (for use in shell commands)."""
    state = read_state()
    if not state or not state["running"]:
        raise click.ClickException("the local Kafka is not running: python -m local_kafka start")
    click.echo(state[f"{listener}_config"])


def main():
    try:
        cli(prog_name="python -m local_kafka")
    except LauncherError as e:  # a refusal outside start (an unusable state directory, say)
        click.echo(f"Error: {e}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
