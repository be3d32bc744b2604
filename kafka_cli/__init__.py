"""The code producer.py and consumer.py share, one concern per module.

config        the INI file: reading, validating, merging sections and -X overrides
secrets       which properties are secret, and the Redactor that keeps their values out of output
errors        CliError / ConfigError and the exit codes
client        building a confluent-kafka client from a config; librdkafka's refusals explained
kafka_errors  librdkafka's runtime errors turned into sentences that name the config key to fix
tls_probe     asks Python's TLS which certificate check failed (librdkafka does not say)
lines         producer input: splitting stdin into key/value lines
formats       consumer output: text, json, verbose
options       the click options both scripts take
terminal      logging to stderr and the progress line (imported by the scripts only)

Dependencies run one way: the scripts import these modules; nothing here imports the scripts,
and nothing here but the scripts imports `terminal`.
"""

__version__ = "1.1.0"
