"""Reading a dataset file's JSON text safely: bounded nesting (checked in one linear pass
before the recursive parser runs, so a file nested 100,000 deep is refused, not a
RecursionError), no NaN or Infinity, and a key named twice in one object remembered so
that the importer can refuse it naming the record and field."""

import json
from collections.abc import Iterable

MAX_DEPTH = 20  # a dataset needs 4: the file, a list, a record, a list in a record


class JsonProblem(ValueError):
    """The text is not a JSON document the importer accepts; the message says why."""


class JsonObject(dict[str, object]):
    """A JSON object, with the keys that its text named more than once."""

    repeated: tuple[str, ...] = ()


def _object(pairs: Iterable[tuple[str, object]]) -> JsonObject:
    result = JsonObject()
    repeated: list[str] = []
    for key, value in pairs:
        if key in result and key not in repeated:
            repeated.append(key)
        result[key] = value
    result.repeated = tuple(repeated)
    return result


def _constant(name: str) -> object:
    raise JsonProblem(f"{name} is not a JSON number; write a number or null")


def nesting_depth_problem(text: str, limit: int = MAX_DEPTH) -> str | None:
    """Why `text` nests arrays and objects too deep, or None; one pass, no recursion."""
    depth = 0
    in_string = escaped = False
    line = 1
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return (
                    f"arrays and objects are nested more than {limit} deep (line {line}); "
                    "a dataset needs 4 levels: the file, its lists, records, their lists"
                )
        elif char in "]}":
            depth -= 1
        elif char == "\n":
            line += 1
    return None


def parse_json_text(text: str) -> object:
    """The document in `text`; raises JsonProblem naming what is wrong."""
    problem = nesting_depth_problem(text)
    if problem is not None:
        raise JsonProblem(problem)
    try:
        return json.loads(text, object_pairs_hook=_object, parse_constant=_constant)
    except JsonProblem:
        raise
    except RecursionError:  # cannot happen below MAX_DEPTH; fail closed all the same
        raise JsonProblem("the document is nested too deep") from None
    except ValueError as exc:  # JSONDecodeError, and integers of more than 4300 digits
        raise JsonProblem(f"not valid JSON: {exc}") from None
