from datetime import datetime

import strawberry

from authz.facts import Carrier
from resolvers.context import RequestContext
from resolvers.mutations import ConcernReceiptRecord
from schema.guard import build, guarded


@guarded
@strawberry.type
class ConcernReceipt:
    """The same shape whether or not the crsid names a student."""

    shown: strawberry.Private[frozenset[str]]
    reference: str
    received_at: datetime

    @classmethod
    def of(cls, ctx: RequestContext, record: ConcernReceiptRecord) -> "ConcernReceipt":
        values = {"reference": record.reference, "received_at": record.received_at}
        return build(cls, ctx.decisions.fields(Carrier("ConcernReceipt")), values)
