"""The throughput and latency benchmark of producer.py and consumer.py, in four rooms.

    bench/run.py     the entry point: options, broker start and stop, the order of the work
    bench/workload/  what is measured: the workload, its input file, the tool table, the probes
    bench/measure/   how it is measured: process timing, peak RSS, CPU, the exact-count checks
    bench/report/    how it is reported: summary rows, RESULTS.md, the chart, machine and versions

Dependencies point one way: run.py imports the rooms; measure/ reads workload/'s tool
table; workload/ and report/ import no other room, so either can be read on its own.
"""
