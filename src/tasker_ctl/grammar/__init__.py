"""The action grammar: typed capabilities that compose into handlers without new code.

``capabilities`` holds one Pydantic config model per capability (the single source of its
JSON Schema, its validation and its execution); ``expressions`` evaluates jq in a sandbox;
``validation`` checks compositions before they run; ``runner`` executes them; ``patterns`` is
the catalog of named compositions; ``document`` renders the vocabulary for people and LLMs.
"""
