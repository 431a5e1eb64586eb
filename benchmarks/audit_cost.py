"""The price of the audit trail (issue 4): one `students(first: 100)` request with every
restricted field, timed with auditing on and off, interleaved in one run so that the
shared machine's noise falls on both alike. Prints the ratio of the medians.

    python benchmarks/audit_cost.py [--students 300] [--rounds 30]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient

import app.graphql_http as endpoint
from app.audit_key import keyed
from app.factory import create_app
from app.importer import load_dataset
from app.settings import Settings
from app.tokens import issue_token
from benchmarks.count_statements import QUERY, college
from models.db import create_schema, make_engine
from resolvers.audit import commit_read_events


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        settings = Settings(database_url=url, jwt_secret="b" * 40, rate_limit_per_user=10**6)
        engine = keyed(make_engine(url), settings)
        create_schema(engine)
        load_dataset(engine, college(args.students))
        engine.dispose()
        with TestClient(create_app(settings)) as client:
            headers = {"Authorization": f"Bearer {issue_token(settings, 'st100')}"}
            body = {"query": QUERY, "variables": {"first": 100}}

            def once() -> float:
                start = time.perf_counter()
                response = client.post("/graphql", json=body, headers=headers)
                elapsed = time.perf_counter() - start
                assert response.status_code == 200 and "errors" not in response.json()
                return elapsed

            on: list[float] = []
            off: list[float] = []
            for _ in range(3):  # warm up both paths
                once()
            for _ in range(args.rounds):
                endpoint.commit_read_events = commit_read_events  # type: ignore[attr-defined]
                on.append(once())
                endpoint.commit_read_events = lambda ctx: None  # type: ignore[attr-defined]
                off.append(once())
            endpoint.commit_read_events = commit_read_events  # type: ignore[attr-defined]
    median_on, median_off = statistics.median(on), statistics.median(off)
    print(f"students(first: 100), every field, Senior Tutor, {args.rounds} rounds interleaved")
    print(f"audit on : median {median_on * 1000:.1f} ms")
    print(f"audit off: median {median_off * 1000:.1f} ms")
    print(f"ratio on/off: {median_on / median_off:.2f}")


if __name__ == "__main__":
    main()
