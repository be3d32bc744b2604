"""The two metadata views as text for people and as one JSON document for scripts: the cluster listing
(consumer.py -L, from listing.py) and a group's lag (consumer.py --lag, from lag.py).

Rendering only, kept apart from gathering (as kcat keeps its formatting apart from its modes): each function
takes the gathered value and returns a str; nothing here talks to a broker or writes to a terminal.

Every name that comes from a broker or another client (client ids, hosts, group ids) is shown with
escaping.printable_text in text: a client id can hold an escape sequence, and these views are read on terminals.
The JSON field names are stable: scripts rely on them.
"""

import json

from kafka_cli.core.escaping import json_safe, printable_text


def where(topic, partition):
    return f"{topic} [{partition}]"


def ids(numbers):
    return ",".join(map(str, numbers)) or "-"


def table(rows, indent=""):
    """Rows of cells as lines, each column as wide as its widest cell (the last one not padded)."""
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(max(map(len, rows)))]
    return [indent + "  ".join(cell.ljust(widths[i]) if i < len(row) - 1 else cell
                               for i, cell in enumerate(row)).rstrip() for row in rows]


def as_json(document):
    """One line of JSON; ASCII only, and DEL escaped too (json_safe), so it is safe on a terminal."""
    return json_safe(json.dumps(document, separators=(",", ":")))


# -- the cluster listing -------------------------------------------------------------------
def partition_problems(p, min_isr):
    problems = []
    if p.under_replicated():
        problems.append("under-replicated")
    if p.below_min_isr(min_isr):
        problems.append("below min.insync.replicas")
    if p.leaderless():
        problems.append("no leader")
    return problems


def listing_text(listing):
    """The cluster listing for people: brokers, topics, partitions, then the summary line."""
    lines = [f"cluster {printable_text(listing.cluster_id)} (metadata from {answering_text(listing.answering())})",
             f"{len(listing.brokers)} broker{'s' if len(listing.brokers) != 1 else ''}:"]
    lines += table([[str(b.id), printable_text(f"{b.host}:{b.port}"),
                     "controller" if b.id == listing.controller_id else ""]
                    for b in listing.brokers] or [["(none)"]], "  ")
    lines.append(f"{len(listing.topics)} topic{'s' if len(listing.topics) != 1 else ''}:")
    for topic in listing.topics:
        lines += topic_text(topic)
    lines.append(summary_text(listing.health()))
    return "\n".join(lines) + "\n"


def answering_text(broker):
    """'broker 3 at host:port', by the id the brokers' list shows; librdkafka's own name when it is not there
    (it says "host:port/bootstrap" for a broker reached through its bootstrap address, whichever it is)."""
    if isinstance(broker, str):
        return printable_text(broker)
    return f"broker {broker.id} at {printable_text(f'{broker.host}:{broker.port}')}"


def topic_text(topic):
    min_isr = topic.min_isr if topic.min_isr is not None else "unknown"
    head = (f"  {topic.name}  {len(topic.partitions)} partition{'s' if len(topic.partitions) != 1 else ''}  replication factor {topic.replication_factor}"
            f"  min.insync.replicas {min_isr}" + ("  internal" if topic.internal else ""))
    if topic.error:
        head += f"  error: {printable_text(topic.error)}"
    rows = [["partition", "leader", "replicas", "in sync", ""]]
    for p in topic.partitions:
        notes = partition_problems(p, topic.min_isr) + ([f"error: {printable_text(p.error)}"] if p.error else [])
        rows.append([str(p.partition), str(p.leader) if p.leader >= 0 else "-", ids(p.replicas), ids(p.isr),
                     ", ".join(notes)])
    return [head] + table(rows, "    ")


def summary_text(health):
    """One line: how many topics and partitions, and every partition that is not healthy, named."""
    def part(partitions, what):
        named = f" ({', '.join(where(*w) for w in partitions)})" if partitions else ""
        return f"{len(partitions)} {what}{named}"

    return (f"{health.topics} topic{'s' if health.topics != 1 else ''}, {health.partitions} partition"
            f"{'s' if health.partitions != 1 else ''}: {part(health.under_replicated, 'under-replicated')}; "
            f"{part(health.below_min_isr, 'below min.insync.replicas')}; {part(health.leaderless, 'without a leader')}")


def listing_json(listing):
    """The cluster listing as one JSON document."""
    health = listing.health()
    return as_json({
        "cluster_id": listing.cluster_id,
        "controller_id": listing.controller_id,
        "brokers": [{"id": b.id, "host": b.host, "port": b.port, "controller": b.id == listing.controller_id}
                    for b in listing.brokers],
        "topics": [topic_json(t) for t in listing.topics],
        "missing_topics": list(listing.missing),
        "summary": {"topics": health.topics, "partitions": health.partitions,
                    "under_replicated": [{"topic": t, "partition": p} for t, p in health.under_replicated],
                    "below_min_insync_replicas": [{"topic": t, "partition": p} for t, p in health.below_min_isr],
                    "leaderless": [{"topic": t, "partition": p} for t, p in health.leaderless],
                    "healthy": not health.failing},
    }) + "\n"


def topic_json(topic):
    return {"name": topic.name, "internal": topic.internal, "partition_count": len(topic.partitions),
            "replication_factor": topic.replication_factor, "min_insync_replicas": topic.min_isr,
            "error": topic.error,
            "partitions": [{"partition": p.partition, "leader": p.leader if p.leader >= 0 else None,
                            "replicas": list(p.replicas), "isr": list(p.isr),
                            "under_replicated": p.under_replicated(), "below_min_insync_replicas":
                            p.below_min_isr(topic.min_isr), "leaderless": p.leaderless(), "error": p.error}
                           for p in topic.partitions]}


# -- a group's lag -------------------------------------------------------------------------
def duration(seconds):
    """<1 s, 12 s, 3 min 5 s, 2 h 5 min: a catch-up estimate, to the second at best."""
    if seconds < 0.5:
        return "<1 s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def rate_text(movement):
    """Signed messages a second: + the lag grows, - it falls; '0/s' when it stands still."""
    if movement is None:
        return "-"
    if movement.rate == 0:
        return "0/s"
    return f"{movement.rate:+,.1f}/s"


def catch_up_text(movement):
    """The time to a lag of 0 at the present pace; 'caught up' within one commit interval of the log end."""
    if movement is not None and movement.caught_up:
        return "caught up"
    return duration(movement.catch_up) if movement is not None and movement.catch_up is not None else "-"


def owner_text(owner):
    return f"{printable_text(owner.client_id)} @ {printable_text(owner.host)}" if owner is not None else "-"


def number(value):
    return f"{value}" if value is not None else "-"


def lag_text(lag, moved=None):
    """A group's lag for people: the group line, a row per partition, a total per topic and for the group.
    With `moved` ({(topic, partition): Movement}, from --watch) two more columns: RATE and CATCH-UP."""
    state = lag.state + (" (rebalancing: partitions are being handed out)" if lag.rebalancing else "")
    lines = [f"group {printable_text(lag.group)}  state {state}  {len(lag.members)} member"
             f"{'s' if len(lag.members) != 1 else ''}  protocol {lag.group_type}  coordinator {number(lag.coordinator)}"]
    head = ["TOPIC", "PARTITION", "COMMITTED", "LOG-END", "LAG"] + (["RATE", "CATCH-UP"] if moved is not None else [])
    rows = [head + ["OWNER (client id @ host)"]]
    totals = lag.topic_totals()
    for i, p in enumerate(lag.partitions):
        row = [p.topic, str(p.partition), number(p.committed), number(p.log_end), number(p.lag)]
        if moved is not None:
            movement = moved.get((p.topic, p.partition))
            row += [rate_text(movement), catch_up_text(movement)]
        rows.append(row + [owner_text(p.owner) + (f"  error: {printable_text(p.error)}" if p.error else "")])
        if i + 1 == len(lag.partitions) or lag.partitions[i + 1].topic != p.topic:
            rows.append([p.topic, "total", "", "", str(totals[p.topic][0])])
    lines += table(rows)
    lines.append(group_total_text(lag, len(totals)))
    return "\n".join(lines) + "\n"


def group_total_text(lag, topics):
    count = len(lag.partitions)
    text = f"group total lag {lag.total:,} over {count} partition{'s' if count != 1 else ''} of {topics} topic{'s' if topics != 1 else ''}"
    unread = sum(1 for p in lag.partitions if p.committed is None)
    if unread:
        # their lag depends on auto.offset.reset, which is the consumers' setting, not the group's
        text += f" ({unread} with nothing committed yet: not counted)"
    return text


def lag_json(lag, moved=None):
    """A group's lag as one JSON document; with `moved`, each partition also has `rate` (messages a second,
    negative while falling), `catch_up_seconds` (null unless falling or caught up) and `caught_up` (null before
    a second look)."""
    def member(m):
        return {"member_id": m.member_id, "client_id": m.client_id, "host": m.host} if m is not None else None

    partitions = []
    for p in lag.partitions:
        row = {"topic": p.topic, "partition": p.partition, "committed": p.committed, "log_end": p.log_end,
               "lag": p.lag, "owner": member(p.owner), "error": p.error}
        if moved is not None:
            movement = moved.get((p.topic, p.partition))
            row["rate"] = round(movement.rate, 3) if movement is not None else None
            row["catch_up_seconds"] = (round(movement.catch_up, 1) if movement is not None
                                       and movement.catch_up is not None else None)
            row["caught_up"] = movement.caught_up if movement is not None else None
        partitions.append(row)
    return as_json({
        "group": lag.group, "state": lag.state, "type": lag.group_type, "coordinator": lag.coordinator,
        "members": [member(m) for m in lag.members], "partitions": partitions,
        "topics": [{"topic": t, "lag": total, "partitions": count} for t, (total, count) in lag.topic_totals().items()],
        "total_lag": lag.total, "missing_topics": list(lag.missing),
    }) + "\n"
