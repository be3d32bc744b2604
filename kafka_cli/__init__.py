"""producer.py and consumer.py as a package, in rooms named for the path data takes (ARCHITECTURE.md says what
each holds and which may import which; tests/unit/test_layout.py holds it to the code):

core      errors and exit statuses, checks before C code, escaping for the terminal, secrets, separators, words
config    the INI file, and the Schema Registry settings taken out of it
client    confluent-kafka clients from a config; librdkafka's errors as sentences naming the key to fix
produce   stdin into lines or JSON records, the read loop, delivery accounting, the topic check
consume   output formats and -F, positions (-o, --until), the consume loop
views     -L and --lag: facts from an AdminClient, judged and rendered
schema    Confluent's wire format, codecs, the registry client, decoding and encoding (face: the hooks)
cli       the click commands, their options, the terminal: the only room that writes to it

dependencies.py runs first, with the standard library only: it names a missing package instead of a traceback.
"""

__version__ = "1.1.0"
