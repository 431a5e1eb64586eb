"""The API's BAD_USER_INPUT messages, put at the fields of a page's form. Each message
starts with the input field's name ("summary must not be blank; give a value"); the page
names the form field and the words a reader knows it by."""

from collections.abc import Mapping


def field_errors(
    messages: list[str], fields: Mapping[str, tuple[str, str]], default: str
) -> dict[str, str]:
    """`fields`: API input name -> (form field, label). A message naming no known input
    goes to the `default` form field, as the API wrote it."""
    errors: dict[str, str] = {}
    for message in messages:
        name, _, rest = message.partition(" ")
        if name in fields and rest:
            field, label = fields[name]
            errors.setdefault(field, f"{label} {rest}")
        else:
            errors.setdefault(default, message[:1].upper() + message[1:])
    return errors
