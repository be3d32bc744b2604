"""python -m local_kafka start|stop|status|config|pid|create-topic|delete-topic|topics: a local Kafka (one node or a
cluster) that outlives this command, and the topics on it."""

import sys

from .dependencies import require_installed

require_installed(sys.argv[1:])  # before click is imported and before anything is made on disk

import os  # noqa: E402
import signal  # noqa: E402

import click  # noqa: E402

from . import topics as topic_ops  # noqa: E402
from .broker import DEFAULT_TOPIC_PARTITIONS, KafkaCluster, LauncherError, LocalKafka  # noqa: E402
from .files import check_private_dir, made_by_launcher, remove_own_dir  # noqa: E402
from .jars import KAFKA_VERSION, kafka_version  # noqa: E402
from .process import controller_majority, stop_processes  # noqa: E402
from .keycloak import stop_keycloak  # noqa: E402
from .registry import stop_registry  # noqa: E402
from .state import (STATE_DIR, Busy, holder_of, locked, read_state, remember_ports,  # noqa: E402
                    remembered_ports, write_state)

STOP_HINT = "stop it first with python -m local_kafka stop"


class Refusal(click.ClickException):
    """One line on stderr ("Error: ...") and an exit code: 1 for the state of things, 2 for what was typed."""

    def __init__(self, message, exit_code=1):
        super().__init__(message)
        self.exit_code = exit_code


class Interrupted(BaseException):
    """SIGINT or SIGTERM (a `stop` cancelling this start) arrived while starting."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


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
    if state.get("oauth"):
        oauth = state["oauth"]
        click.echo(f"  OAUTH      {oauth['bootstrap']:<22} config: {oauth['config']}")
        click.echo(f"  Keycloak {oauth['issuer']} (pid {oauth['pid']}; tokens for client-oauth.ini)  log: {oauth['log']}")
    if state.get("schema_registry"):
        registry = state["schema_registry"]
        click.echo(f"  Schema Registry {registry['url']} (pid {registry['pid']}; in the configs' [schema_registry]"
                   f"{', and client-oauth.ini' if state.get('oauth') else ''})  log: {registry['log']}")
    click.echo(f"  try: ./consumer.py {state['sasl_ssl_config']}")


def clear_state_dir():
    """Remove what a previous start left, if the launcher made it; otherwise say so and refuse."""
    if remove_own_dir(STATE_DIR):
        return
    check_private_dir(STATE_DIR)
    if any(os.scandir(STATE_DIR)):
        raise Refusal(f"{STATE_DIR} holds files local_kafka did not make, so it will not delete or "
                      "use it; point LOCAL_KAFKA_STATE at a new or empty directory of your own.")


def running_state():
    """The state of the running local Kafka, or a one-line refusal (saying so if a start is under way)."""
    state = read_state()
    if state and state["running"]:
        return state
    holder = holder_of(STATE_DIR)
    if holder and holder[1] == "start":
        raise Refusal(f"the local Kafka in {STATE_DIR} is still being started by pid {holder[0]}")
    raise Refusal("the local Kafka is not running: python -m local_kafka start")


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx):
    """A real Apache Kafka on loopback (KRaft, PLAINTEXT and SASL_SSL listeners): one node, or a cluster.
    Run it from the project's top directory (where consumer.py is): Python finds the launcher there.

    \b
    Example:
        python -m local_kafka start
        python -m local_kafka create-topic orders --partitions 3
        ./consumer.py "$(python -m local_kafka config sasl_ssl)" -t orders
        python -m local_kafka stop
    """
    if ctx.invoked_subcommand is None:  # a bare call asks what this is: the answer, and no error
        click.echo(ctx.get_help())


def _raise_interrupted(signum, frame):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # one is enough: the clean-up that follows must run to its end
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Interrupted(signum)


def refuse_if_running():
    state = read_state()
    if state and state["running"]:
        pids = ", ".join(str(node["pid"]) for node in state["nodes"] if node["alive"])
        raise Refusal(f"a local Kafka is already running (pid {pids}) in {STATE_DIR}; {STOP_HINT}")


def say_starting(brokers, version, schema_registry, oauth):
    """One line before the wait, so that the seconds a start takes are not silent (times measured here, 2 cores)."""
    parts = [f"Kafka {version} ({brokers} node{'s' if brokers > 1 else ''})"]
    parts += ["a Schema Registry"] * schema_registry + ["Keycloak"] * oauth
    what = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    took = "usually 35-45 s: Keycloak is the slowest" if oauth else "usually 5-20 s"
    click.echo(f"starting {what} in {STATE_DIR}: {took}", err=True)


def start_in_background(brokers, auto_create_topics, version, services=None):
    """Start a broker whose JVMs outlive this command; on any failure or interruption, leave nothing behind.
    `services`: {"schema_registry": True, "oauth": True}, those asked for."""
    if os.path.lexists(STATE_DIR):
        clear_state_dir()
    options = dict(workdir=STATE_DIR, keep_workdir=True, auto_create_topics=auto_create_topics, kafka_version=version)
    options.update({name: True for name, wanted in (services or {}).items() if wanted})
    broker = LocalKafka(**options) if brokers == 1 else KafkaCluster(brokers, **options)
    broker.wanted_ports = remembered_ports()  # the last start's, where they are free: copied configs stay right
    try:
        broker.start()
        write_state(broker)
    except (LauncherError, Interrupted) as e:
        broker.stop()
        remove_own_dir(STATE_DIR)
        if isinstance(e, Interrupted):
            click.echo(f"start cancelled ({signal.Signals(e.signum).name}); nothing is left running", err=True)
            sys.exit(128 + e.signum)
        raise Refusal(str(e)) from None
    return broker


@cli.command()
@click.option("--brokers", type=click.IntRange(1, 5), default=1, show_default=True,
              help="Nodes, each broker and controller; with 3, topics have 3 replicas and min.insync.replicas 2.")
@click.option("--auto-create-topics", is_flag=True,
              help="Create a topic (3 partitions) when a client asks for one that does not exist, "
                   "as Apache Kafka does by default. Off by default, like Confluent Cloud.")
@click.option("--kafka-version", metavar="VERSION",
              help="Apache Kafka release to run, 3.6.0 or newer "
                   f"[default: $LOCAL_KAFKA_VERSION, else {KAFKA_VERSION}]; "
                   "its jars are fetched from Maven Central once.")
@click.option("--schema-registry", is_flag=True,
              help="Also start a Schema Registry (Apicurio, Confluent's API, basic auth) and put it in the client "
                   "configs; needs Java 21+.")
@click.option("--oauth", is_flag=True,
              help="Also start Keycloak (an OIDC identity provider) and an OAUTH listener (SASL_SSL, OAUTHBEARER) "
                   "that takes its tokens; writes client-oauth.ini in Confluent Cloud's OAuth shape; needs Java 21+.")
def start(brokers, auto_create_topics, kafka_version, schema_registry, oauth):
    """Start Kafka in the background and print where its client configs are."""
    version = checked_version(kafka_version)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _raise_interrupted)
    try:
        with locked(STATE_DIR, "start"):
            refuse_if_running()
            say_starting(brokers, version, schema_registry, oauth)
            broker = start_in_background(brokers, auto_create_topics, version,
                                         {"schema_registry": schema_registry, "oauth": oauth})
    except Busy as e:
        raise Refusal(f"{e}; {STOP_HINT}" if e.holder and e.holder[1] == "start" else
                      f"{e}; start again once it has stopped") from None
    except Interrupted as e:  # before the broker was made: nothing to clean up
        sys.exit(128 + e.signum)
    click.echo(f"started in {broker.startup_seconds:.1f} s", err=True)
    say_moved_ports(broker)
    trouble = remember_ports(broker)
    if trouble:
        click.echo(f"warning: {trouble}; the next start picks new ports", err=True)
    print_where(read_state())


def say_moved_ports(broker):
    """A warning for each port of the last start that another program holds now, and what that means for
    the client configs copied from that start."""
    clients_moved = False
    for node_id, name, old, new in broker.moved_ports:
        node = f"node {node_id}'s " if broker.brokers > 1 else ""
        clients_moved = clients_moved or name != "CONTROLLER"
        click.echo(f"warning: port {old} ({node}{name} listener, as in the last start) is taken now by another "
                   f"program; {name} listens on {new} instead", err=True)
    if clients_moved:
        click.echo("warning: client configs copied before this start name the old port: copy them again, e.g. "
                   'cp "$(python -m local_kafka config plaintext)" config.ini', err=True)


def checked_version(version):
    try:
        return kafka_version(version)
    except LauncherError as e:
        raise Refusal(str(e), exit_code=2) from None


def cancel_start(holder):
    """SIGTERM the process that is starting Kafka (it cleans up and exits), if it is really one of ours.
    True if it was told to."""
    if not holder or holder[1] != "start":
        return False
    try:
        with open(f"/proc/{holder[0]}/cmdline", "rb") as f:
            if b"local_kafka" not in f.read():
                return False
        os.kill(holder[0], signal.SIGTERM)
    except OSError:
        return False
    click.echo(f"cancelling the start under way (pid {holder[0]})", err=True)
    return True


def stop_now(cancelled=False):
    state = read_state()
    if state is None:
        click.echo("stopped: the start was cancelled before Kafka ran" if cancelled else "not running", err=True)
        return
    if state.get("schema_registry"):
        stop_registry(state["schema_registry"].get("pid"), state["schema_registry"].get("dir"))
    if state.get("oauth"):
        stop_keycloak(state["oauth"].get("pid"), state["oauth"].get("dir"))
    stop_processes([node["pid"] for node in state["nodes"] if node["alive"]],
                   quorum=controller_majority(len(state["nodes"])))
    workdir = state.get("workdir", "")
    if made_by_launcher(workdir):
        remove_own_dir(workdir)
        click.echo("stopped", err=True)
    else:
        click.echo(f"stopped; left {workdir} in place: local_kafka did not make it", err=True)


@cli.command()
def stop():
    """Stop Kafka (controlled shutdown of every node) and remove its data; cancels a start under way.
    The ports stay remembered (in a file beside the data), so the next start listens on them again."""
    try:
        with locked(STATE_DIR, "stop"):
            return stop_now()
    except Busy as e:
        cancelled = cancel_start(e.holder)
    with locked(STATE_DIR, "stop", wait=120):  # the cancelled start cleans up, or another stop finishes
        stop_now(cancelled)


@cli.command()
def status():
    """Say whether Kafka runs, and where its configs are; exit 1 unless every node runs."""
    state = read_state()
    if not state or not state["running"]:
        holder = holder_of(STATE_DIR)
        starting = f": being started by pid {holder[0]}" if holder and holder[1] == "start" else ""
        click.echo(f"not running{starting}", err=True)
        sys.exit(1)
    print_where(state)
    if not state["alive"]:
        down = [str(node["node_id"]) for node in state["nodes"] if not node["alive"]]
        click.echo(f"node(s) {', '.join(down)} not running", err=True)
        sys.exit(1)


@cli.command()
@click.argument("listener", type=click.Choice(["plaintext", "sasl_ssl", "oauth"], case_sensitive=False))
def config(listener):
    """Print the path of the client config for LISTENER (for use in shell commands); `status` prints the
    listeners' names in capitals, and either case is taken. oauth: only after start --oauth."""
    state = running_state()
    if listener.lower() == "oauth":
        if not state.get("oauth"):
            raise Refusal("the local Kafka was started without --oauth: stop it, then python -m local_kafka start --oauth")
        click.echo(state["oauth"]["config"])
        return
    click.echo(state[f"{listener.lower()}_config"])


@cli.command()
@click.argument("node", type=click.IntRange(min=1), default=1)
def pid(node):
    """Print the pid of node NODE's JVM (default 1), for kill -9, kill -STOP and the like; exit 1 if that node
    is not running."""
    state = running_state()
    found = next((n for n in state["nodes"] if n["node_id"] == node), None)
    if found is None:
        raise Refusal(f"there is no node {node}: the nodes are "
                      f"{', '.join(str(n['node_id']) for n in state['nodes'])}", exit_code=2)
    if not found["alive"]:
        raise Refusal(f"node {node} is not running (its pid was {found['pid']})")
    click.echo(found["pid"])


def topic_command(action):
    """Run one topic operation; Kafka's refusal or a bad name becomes one line (exit 2 if it was the input)."""
    try:
        return action()
    except topic_ops.TopicError as e:
        raise Refusal(str(e), exit_code=2 if e.usage else 1) from None


@cli.command("create-topic")
@click.argument("name")
@click.option("--partitions", type=click.IntRange(min=1), default=DEFAULT_TOPIC_PARTITIONS, show_default=True,
              help="Partitions (6 is Confluent Cloud's default too).")
@click.option("--replication-factor", type=click.IntRange(min=1), metavar="N",
              help="Replicas of each partition [default: one on each node, up to 3; with --on-node, one on each "
                   "node it names, up to 3].")
@click.option("--on-node", "on_nodes", type=click.IntRange(min=1), metavar="ID", multiple=True,
              help="Put the replicas on this node only (repeatable: on these nodes), e.g. --on-node 2 for a "
                   "topic that lives and dies with node 2.")
@click.option("--config", "configs", metavar="KEY=VALUE", multiple=True,
              help="A topic config, e.g. retention.ms=3600000; repeatable. A replication factor below the "
                   "cluster's min.insync.replicas (2 on a cluster) sets the topic's to match, unless given here.")
def create_topic(name, partitions, replication_factor, on_nodes, configs):
    """Create topic NAME on the running local Kafka (replicated on up to 3 nodes); returns once it has leaders."""
    settings = topic_command(lambda: (topic_ops.check_name(name), topic_ops.parse_configs(configs))[1])
    state = running_state()
    layout, factor = topic_command(lambda: topic_ops.placement(state, partitions, replication_factor, on_nodes))
    settings, lowered = topic_ops.fitted_configs(state, settings, factor)
    topic_command(lambda: topic_ops.create(state, name, layout, settings))
    where = f", on node{'s' if len(on_nodes) > 1 else ''} {', '.join(map(str, on_nodes))}" if on_nodes else ""
    isr = f", min.insync.replicas {factor}" if lowered else ""
    click.echo(f"created topic {name} ({partitions} partition{'s' if partitions != 1 else ''}, "
               f"replication factor {factor}{where}{isr})", err=True)


@cli.command("delete-topic")
@click.argument("name")
def delete_topic(name):
    """Delete topic NAME from the running local Kafka; returns once it is gone."""
    topic_command(lambda: topic_ops.check_name(name))
    state = running_state()
    topic_command(lambda: topic_ops.delete(state, name))
    click.echo(f"deleted topic {name}", err=True)


@cli.command()
def topics():
    """List the topics of the running local Kafka (name, partitions), internal ones left out."""
    state = running_state()
    found = topic_command(lambda: topic_ops.listing(state))
    width = max((len(name) for name, _ in found), default=0)
    for name, partitions in found:
        click.echo(f"{name:<{width}}  {partitions}")


def main():
    try:
        cli(prog_name="python -m local_kafka")
    except LauncherError as e:  # a refusal outside start (an unusable state directory, say)
        click.echo(f"Error: {e}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
