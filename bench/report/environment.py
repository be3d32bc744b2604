"""The machine and the versions a run was made on, for the head of RESULTS.md."""

import os
import platform
import re
import subprocess
from pathlib import Path


def machine():
    """Cores, CPU model, RAM in GiB and the load average; None where /proc does not tell."""
    info = {"cores": os.cpu_count(), "cpu": platform.processor() or platform.machine(), "ram_gib": None,
            "load": None}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cores"] = sum(1 for line in cpuinfo.splitlines() if line.startswith("processor"))
        models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
        if models:
            info["cpu"] = models[0].strip()
        mem = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        info["ram_gib"] = int(mem.group(1)) / 1024 ** 2 if mem else None
        info["load"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        pass
    return info


def versions():
    import confluent_kafka

    kcat = subprocess.run(["kcat", "-V"], capture_output=True, text=True).stdout
    match = re.search(r"Version (\S+) .*?librdkafka (\S+)", kcat)
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.strip().splitlines()
    return {"python": platform.python_version(),
            "confluent_kafka": f"{confluent_kafka.__version__} (librdkafka {confluent_kafka.libversion()[0]})",
            "kcat": f"{match.group(1)} (librdkafka {match.group(2)})" if match else "?",
            "java": java[0] if java else "?"}
