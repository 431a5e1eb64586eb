"""GraphQL subscriptions (issue 17): the signed-in user's alerts, live.

`alertNotices` streams AlertNotice events: one when the subscription starts (the unread
count, no alert), one per alert delivered to the subscriber afterwards (the count and
that alert), and one whenever the unread count changes otherwise (read on another
page). The stream is served over WebSocket (graphql-transport-ws) by app/ws.py, which
polls the subscriber's deliveries (resolvers/alert_stream.py) and executes the
subscription's selection set once per event as a request of its own, with the event as
the root value (the specification's ExecuteSubscriptionEvent): a fresh database session,
the policy asked again, read events audited as for any query. What an alert shows is
decided by the same code as `alert(id)` (resolvers/alert_queries.py)."""

from collections.abc import AsyncGenerator

import strawberry

from authz.facts import Carrier
from resolvers.alert_queries import alert_by_id, unread_count
from resolvers.context import RequestContext
from schema.guard import build, guarded
from schema.types.alert import Alert

Info = strawberry.Info[RequestContext, None]


def _unread_count(root: "AlertNotice", info: Info) -> int:
    return unread_count(info.context)


def _alert(root: "AlertNotice", info: Info) -> Alert | None:
    if root.delivery_id is None:
        return None
    record = alert_by_id(info.context, root.delivery_id)
    return None if record is None else Alert.of(record)


@guarded
@strawberry.type
class AlertNotice:
    shown: strawberry.Private[frozenset[str]]
    delivery_id: strawberry.Private[str | None]
    unread_count: int = strawberry.field(resolver=_unread_count)
    alert: Alert | None = strawberry.field(
        resolver=_alert, description="the alert just delivered; null in other notices"
    )

    @classmethod
    def of(cls, ctx: RequestContext, delivery_id: str | None) -> "AlertNotice":
        fields = ctx.decisions.fields(Carrier("AlertNotice"))
        return build(cls, fields, {}, delivery_id=delivery_id)


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def alert_notices(self) -> AsyncGenerator[AlertNotice, None]:
        # Never iterated: app/ws.py is the source stream (it polls the deliveries) and
        # hands each event to the field as the root value, so no event can arrive here.
        return
        yield  # makes this an async generator: the field's type is the stream's items
