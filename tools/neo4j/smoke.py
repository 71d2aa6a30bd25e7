"""Smoke check of a running Neo4j with the official Python driver (the features ioc-catalog's Neo4j store relies on).

    URL=$(tools/neo4j/neo4j.sh start)
    .venv/bin/python tools/neo4j/smoke.py "$URL"        # user/password from NEO4J_AUTH=user/password if set
    tools/neo4j/neo4j.sh stop

Works on a scratch label (SmokeT) and removes it, its index and constraint afterwards.
"""

from __future__ import annotations

import os
import sys
import time

from neo4j import GraphDatabase

LABEL = "SmokeT"


def main() -> int:
    url = sys.argv[1] if len(sys.argv) > 1 else "bolt://127.0.0.1:7687"
    raw = os.environ.get("NEO4J_AUTH", "none")
    auth = None if raw.lower() == "none" else tuple(raw.split("/", 1))
    t0 = time.perf_counter()
    with GraphDatabase.driver(url, auth=auth) as driver:
        driver.verify_connectivity()
        info = driver.get_server_info()
        print(f"connected to {info.agent} at {info.address} (protocol {info.protocol_version})")

        def run(cypher: str, **params):
            records, _, _ = driver.execute_query(cypher, params, database_="neo4j")
            return records

        run(f"MATCH (n:{LABEL}) DETACH DELETE n")
        run(f"DROP INDEX smoke_t_name IF EXISTS")
        run(f"DROP CONSTRAINT smoke_t_key IF EXISTS")

        name = run(f"CREATE (n:{LABEL} {{name: 'Sở Thông tin', key: 'k-0'}}) RETURN n.name AS name")[0]["name"]
        assert name == "Sở Thông tin", name
        print(f"CREATE + RETURN ok: {name}")

        run(f"CREATE FULLTEXT INDEX smoke_t_name IF NOT EXISTS FOR (n:{LABEL}) ON EACH [n.name]")
        run("CALL db.awaitIndexes(60)")
        hits = run("CALL db.index.fulltext.queryNodes('smoke_t_name', $q) YIELD node, score "
                   "RETURN node.name AS name, score", q="thông")
        assert hits and hits[0]["name"] == "Sở Thông tin", hits
        print(f"full-text index ok: {[(h['name'], round(h['score'], 3)) for h in hits]}")

        run(f"CREATE CONSTRAINT smoke_t_key IF NOT EXISTS FOR (n:{LABEL}) REQUIRE n.key IS UNIQUE")
        try:
            run(f"CREATE (n:{LABEL} {{key: 'k-0'}})")
        except Exception as e:  # neo4j.exceptions.ConstraintError
            print(f"uniqueness constraint ok: duplicate refused ({type(e).__name__})")
        else:
            raise AssertionError("duplicate key accepted despite the constraint")

        t = time.perf_counter()
        rows = [{"key": f"k-{i}", "name": f"Đơn vị {i}"} for i in range(10_000)]
        summary = driver.execute_query(
            f"UNWIND $rows AS r MERGE (n:{LABEL} {{key: r.key}}) SET n.name = r.name", {"rows": rows},
            database_="neo4j").summary
        c = summary.counters
        dt = time.perf_counter() - t
        count = run(f"MATCH (n:{LABEL}) RETURN count(n) AS c")[0]["c"]
        assert count == 10_000, count
        print(f"UNWIND 10,000 MERGE ok in {dt:.2f} s: {c.nodes_created} created, {c.properties_set} properties set, "
              f"{count} nodes")
        hits = run("CALL db.index.fulltext.queryNodes('smoke_t_name', $q) YIELD node RETURN count(node) AS c",
                   q="đơn")
        print(f"full-text after batch: {hits[0]['c']} hits for 'đơn'")

        run(f"MATCH (n:{LABEL}) DETACH DELETE n")
        run("DROP INDEX smoke_t_name IF EXISTS")
        run("DROP CONSTRAINT smoke_t_key IF EXISTS")
    print(f"all checks passed in {time.perf_counter() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
