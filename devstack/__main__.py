"""python -m devstack up|down|status|env|seed|demo, and python -m devstack cluster up|down (alias: airflow)."""

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
    for name in ("cluster", "airflow"):
        cluster_command = commands.add_parser(
            name, help="Airflow's components on the CeleryExecutor with two workers, against the devstack"
        )
        cluster_command.add_argument("action", choices=["up", "down"])
    args = parser.parse_args(argv)

    from devstack import cluster, demo, paths, stack
    from devstack import seed as seeding

    paths.put_bundle_on_path()  # the DFPS seeder uses the bundle's own name processing and calendar

    if args.command == "up":
        stack.up()
        print(f"devstack: up; now `source {paths.env_file()}`")
    elif args.command == "down":
        cluster.down_all()
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
    elif args.command in ("cluster", "airflow"):
        cluster.up() if args.action == "up" else cluster.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
