"""python -m devstack up|down|status|env|seed|demo, and python -m devstack airflow up|down."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start every stand-in (idempotent) and migrate Airflow's metadata DB")
    commands.add_parser("down", help="stop exactly what up started")
    commands.add_parser("status", help="list the stand-ins with pid, port and log")
    commands.add_parser("env", help="print the path of the env file to source")
    seed = commands.add_parser("seed", help="load the demo data set")
    seed.add_argument("--size", type=int, default=1000, help="rows per generated source (default 1000)")
    commands.add_parser("demo", help="run every DAG once with `airflow dags test` and summarise")
    airflow = commands.add_parser("airflow", help="run Airflow itself against the devstack")
    airflow.add_argument("action", choices=["up", "down"])
    args = parser.parse_args(argv)

    from devstack import airflow_local, demo, paths, stack
    from devstack import seed as seeding

    paths.put_bundle_on_path()  # the DFPS seeder uses the bundle's own name processing and calendar

    if args.command == "up":
        stack.up()
        print(f"devstack: up; now `source {paths.env_file()}`")
    elif args.command == "down":
        stack.down()
    elif args.command == "status":
        rows = stack.status()
        if not rows:
            print("devstack: down")
        for row in rows:
            state = "up" if row["alive"] else "DOWN"
            print(f"{row['name']:<16} {state:<5} pid {row['pid'] or '-':<8} port {row['port']:<6} log {row['log']}")
        return 0 if rows and all(row["alive"] for row in rows) else 1
    elif args.command == "env":
        if not paths.env_file().exists():
            print("devstack: not up; run `python -m devstack up`", file=sys.stderr)
            return 1
        print(paths.env_file())
    elif args.command == "seed":
        for line in seeding.seed(args.size):
            print(f"devstack: seeded {line}")
    elif args.command == "demo":
        return demo.demo()
    elif args.command == "airflow":
        airflow_local.up() if args.action == "up" else airflow_local.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
