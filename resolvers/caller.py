from datetime import datetime

from sqlalchemy import and_, exists
from sqlmodel import Session, col, select

from authz.facts import Caller
from models.tables import DutyShift, User


def load_caller(session: Session, username: str, now: datetime) -> Caller | None:
    """The signed-in user, with roles from the database and whether a duty shift
    covers `now`, in one statement."""
    on_duty = exists().where(
        and_(
            col(DutyShift.user_id) == col(User.id),
            col(DutyShift.starts_at) <= now,
            col(DutyShift.ends_at) > now,
        )
    )
    row = session.exec(select(User, on_duty).where(User.username == username)).first()
    if row is None:
        return None
    user, duty = row
    return Caller(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=tuple(user.roles),
        on_duty=bool(duty),
    )
