"""Citations: the one place they are parsed, checked, renumbered and scored.

Two syntaxes share one mechanism. A *marker* is a run of citation *tokens* in the text: numeric
brackets (`[1]`, `[1, 3]`, `[2-4]`, `[2–4]`; `[1][2]` is two markers) whose tokens are source
numbers, or LaTeX commands (`\\cite{key1,key2}`, `\\citep{...}`) whose tokens are keys. Validation
looks every token up among the sources the model was given, renumbers the valid ones in order of
first appearance (numeric syntax), drops the rest with a reason, and scores each sentence against
the abstracts it cites.

- `markers`: finding, rewriting and removing markers of both syntaxes; placing one at a sentence end.
- `styles`: the other styles models write (`[Source 1]`, `【1】`, footnotes, own reference lists) as `[n]`.
- `support`: the calibrated support score of a sentence against the sources it cites.
- `validate`: the entry points `validate` (numbered sources) and `validate_keys` (`\\cite` keys).
"""
