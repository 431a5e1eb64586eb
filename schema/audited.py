"""The audit wrapper of every Mutation field (schema/mutation.py, schema/lifecycle_mutation.py)."""

from collections.abc import Iterator
from contextlib import contextmanager

import strawberry

from resolvers import mutations
from resolvers.context import RequestContext
from resolvers.errors import ClientError


@contextmanager
def audited(
    info: strawberry.Info[RequestContext, None], target: strawberry.ID | str | None
) -> Iterator[None]:
    """Every call is recorded: the allowed change in its own transaction (by
    resolvers.mutations), a refusal here, after everything it tried was rolled back."""
    ctx = info.context
    ctx.audit.action = info.field_name
    ctx.close_streams()  # an earlier field's page queries end before this one commits
    try:
        yield
    except ClientError as refusal:
        given = None if target is None else str(target)
        mutations.record_refusal(ctx, info.field_name, given, refusal.code)
        raise
    finally:
        ctx.audit.action = None
