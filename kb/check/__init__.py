"""Check a draft against the office's rules: every finding cites the article it rests on.

Modules, one concern each: draft (a draft read into lines, with .docx layout),
kinds (kinds of document and their titles), rules (the YAML rule sets, with
file:line errors, verified against the knowledge base), catalogue (the
knowledge base's documents and articles), anatomy (where each element of a
draft is), checks (the six general checks), checker (a draft's findings),
report (findings and JSON), evaluate (precision and recall on planted faults).
"""
