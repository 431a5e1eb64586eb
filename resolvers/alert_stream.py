"""The source of the alerts' subscription (schema/subscription.py): what changed in one
user's deliveries since the last look. One indexed query per look (the user's
deliveries after a mark, and their unread count), cheap enough to poll every few
seconds per open subscription; it reads ids and times only, never what an alert is
about (that is the Alert's own fields, decided by the policy when the event is
executed)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from models.tables import AlertDelivery

MAX_PER_LOOK = 50  # deliveries handed on per look; the rest follow at the next


@dataclass(frozen=True)
class Mark:
    """Where a subscriber's stream stands: the newest delivery seen, the unread count."""

    created_at: datetime | None
    delivery_id: str
    unread: int


def _unread(session: Session, user_id: str) -> int:
    query = select(func.count()).where(
        col(AlertDelivery.user_id) == user_id, col(AlertDelivery.read_at).is_(None)
    )
    return int(session.exec(query).one())


def start(session: Session, user_id: str) -> Mark:
    """The mark of now: deliveries made before it are not announced."""
    newest = session.exec(
        select(AlertDelivery.created_at, AlertDelivery.id)
        .where(col(AlertDelivery.user_id) == user_id)
        .order_by(col(AlertDelivery.created_at).desc(), col(AlertDelivery.id).desc())
        .limit(1)
    ).first()
    created_at, delivery_id = (None, "") if newest is None else newest
    return Mark(created_at, delivery_id, _unread(session, user_id))


def since(session: Session, user_id: str, mark: Mark) -> tuple[list[str], Mark]:
    """The ids of the deliveries made to `user_id` after `mark`, oldest first, and the
    new mark."""
    query = select(AlertDelivery.created_at, AlertDelivery.id).where(
        col(AlertDelivery.user_id) == user_id
    )
    if mark.created_at is not None:
        query = query.where(
            or_(
                col(AlertDelivery.created_at) > mark.created_at,
                and_(
                    col(AlertDelivery.created_at) == mark.created_at,
                    col(AlertDelivery.id) > mark.delivery_id,
                ),
            )
        )
    rows = list(
        session.exec(
            query.order_by(col(AlertDelivery.created_at), col(AlertDelivery.id)).limit(MAX_PER_LOOK)
        )
    )
    unread = _unread(session, user_id)
    if not rows:
        return [], Mark(mark.created_at, mark.delivery_id, unread)
    created_at, delivery_id = rows[-1]
    return [r[1] for r in rows], Mark(created_at, delivery_id, unread)
