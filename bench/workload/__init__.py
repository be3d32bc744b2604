"""What is measured: the workload (message count and size, partitions), the input file,
the throughput tools with their command lines, and the latency probes. Imports no other room."""
