"""python -m local_kafka start|stop|status: a local Kafka broker that outlives this command."""

import json
import shutil
import sys

import click

from .broker import STATE_DIR, LauncherError, LocalKafka, read_state, state_file, stop_process


def print_where(state):
    click.echo(f"Kafka {state['kafka_version']} running (pid {state['pid']}), data in {state['workdir']}")
    click.echo(f"  PLAINTEXT  {state['plaintext_bootstrap']:<22} config: {state['plaintext_config']}")
    click.echo(f"  SASL_SSL   {state['sasl_ssl_bootstrap']:<22} config: {state['sasl_ssl_config']}")
    click.echo(f"  CA certificate: {state['ca_location']}   broker log: {state['log']}")
    click.echo(f"  try: ./consumer.py {state['sasl_ssl_config']}")


@click.group()
def cli():
    """A real single-node Apache Kafka on loopback (KRaft, PLAINTEXT and SASL_SSL listeners).

    \b
    Example:
        python -m local_kafka start
        ./consumer.py "$(python -m local_kafka config sasl_ssl)"
        python -m local_kafka stop
    """


@cli.command()
def start():
    """Start the broker in the background and print where its client configs are."""
    state = read_state()
    if state and state["alive"]:
        click.echo("already running", err=True)
        print_where(state)
        return
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    broker = LocalKafka(workdir=STATE_DIR, keep_workdir=True)
    try:
        broker.start()
    except LauncherError as e:
        shutil.rmtree(STATE_DIR, ignore_errors=True)
        raise click.ClickException(str(e))
    except KeyboardInterrupt:
        broker.keep_workdir = False
        broker.stop()
        sys.exit(130)
    state = broker.describe()
    state_file().write_text(json.dumps(state, indent=2))
    click.echo(f"started in {state['startup_seconds']} s", err=True)
    print_where(state)


@cli.command()
def stop():
    """Stop the broker (controlled shutdown) and remove its data."""
    state = read_state()
    if state is None:
        click.echo("not running", err=True)
        return
    if state["alive"]:
        stop_process(state["pid"])
    shutil.rmtree(state["workdir"], ignore_errors=True)
    click.echo("stopped", err=True)


@cli.command()
def status():
    """Say whether the broker runs, and where its configs are; exit 1 if it does not."""
    state = read_state()
    if not state or not state["alive"]:
        click.echo("not running", err=True)
        sys.exit(1)
    print_where(state)


@cli.command()
@click.argument("listener", type=click.Choice(["plaintext", "sasl_ssl"]))
def config(listener):
    """Print the path of the client config for LISTENER (for use in shell commands)."""
    state = read_state()
    if not state or not state["alive"]:
        raise click.ClickException("the local Kafka is not running: python -m local_kafka start")
    click.echo(state[f"{listener}_config"])


cli(prog_name="python -m local_kafka")
