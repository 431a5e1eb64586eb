import strawberry

from resolvers import alert_queries, notes, students
from resolvers.context import RequestContext
from resolvers.students import StudentFilterSpec
from schema.types.alert import Alert, AlertConnection
from schema.types.connection import StudentConnection
from schema.types.enums import RiskLevel
from schema.types.note import Note
from schema.types.student import Student
from schema.types.user import User

Info = strawberry.Info[RequestContext, None]


@strawberry.input
class StudentFilter:
    year_of_study: int | None = None
    welfare_flag: bool | None = None
    risk_level: RiskLevel | None = None
    search: str | None = None
    has_lodge_alert: bool | None = strawberry.field(
        default=None, description="matches only rows whose lodge alert the actor may read"
    )


def resolve_me(info: Info) -> User:
    return User.me(info.context)


def resolve_student(info: Info, id: strawberry.ID) -> Student | None:
    record = students.student_by_id(info.context, str(id))
    return None if record is None else Student.of(info.context, record)


def resolve_student_by_crsid(info: Info, crsid: str) -> Student | None:
    record = students.student_by_crsid(info.context, crsid)
    return None if record is None else Student.of(info.context, record)


def resolve_students(
    info: Info,
    first: int | None = 50,
    after: str | None = None,
    filter: StudentFilter | None = None,
) -> StudentConnection:
    spec = StudentFilterSpec()
    if filter is not None:
        spec = StudentFilterSpec(
            year_of_study=filter.year_of_study,
            welfare_flag=filter.welfare_flag,
            risk_level=None if filter.risk_level is None else filter.risk_level.value,
            search=filter.search,
            has_lodge_alert=filter.has_lodge_alert,
        )
    page = students.student_page(info.context, 50 if first is None else first, after, spec)
    return StudentConnection.of(info.context, page)


def resolve_note(info: Info, id: strawberry.ID) -> Note | None:
    record = notes.note_by_id(info.context, str(id))
    return None if record is None else Note.of(info.context, record)


def resolve_alerts(
    info: Info, first: int | None = 20, after: str | None = None, unread_only: bool = False
) -> AlertConnection:
    ctx = info.context
    page, more = alert_queries.alert_page(ctx, 20 if first is None else first, after, unread_only)
    return AlertConnection.of(ctx, page, more)


def resolve_alert(info: Info, id: strawberry.ID) -> Alert | None:
    record = alert_queries.alert_by_id(info.context, str(id))
    return None if record is None else Alert.of(record)


@strawberry.type
class Query:
    me: User = strawberry.field(resolver=resolve_me)
    student: Student | None = strawberry.field(resolver=resolve_student)
    student_by_crsid: Student | None = strawberry.field(resolver=resolve_student_by_crsid)
    students: StudentConnection = strawberry.field(resolver=resolve_students)
    note: Note | None = strawberry.field(resolver=resolve_note)
    alerts: AlertConnection = strawberry.field(resolver=resolve_alerts)
    alert: Alert | None = strawberry.field(resolver=resolve_alert)
