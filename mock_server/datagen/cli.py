"""``bookcheck generate`` and ``bookcheck validate-feed`` (issue 6).

Registered by ``bookcheck/cli.py`` through ``register(subparsers)``. Each command returns an
:class:`~booking_protocol.errors.ExitCode` or raises a :class:`~booking_protocol.errors.UsageError`, which
``bookcheck/cli.py`` prints as ``bookcheck COMMAND: message`` with exit code 2:

* ``generate``: 0 (OK) written, 2 (USAGE) bad options or unwritable output.
* ``validate-feed``: 0 (OK) valid (warnings allowed), 1 (DEVIATIONS) invalid, 2 (USAGE) missing or
  unreadable file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import IO, Any

import orjson

from booking_protocol.errors import ExitCode, UsageError
from mock_server.datagen.locales import DEFAULT_LOCALE, LOCALES, locale_info
from mock_server.datagen.verticals import DEFAULT_VERTICALS, VERTICALS

#: The feed breaks a rule of the feed specification (``validate-feed``): the "deviations found" exit code.
EXIT_INVALID = ExitCode.DEVIATIONS
#: Generations with at least this many merchants report progress on stderr (unless --quiet).
PROGRESS_FROM = 500

_GENERATE_EPILOG = f"""\
kinds:
  feeds         (default) into --out DIR: merchants.json, services.json and availability.json in
                Google's JSON feed layouts, offers.json (bookcheck's subset of the offers feed) and
                payment-fixtures.yaml (test tokens per payment outcome). Serve them with
                'bookcheck serve --feed DIR'; test against them with 'bookcheck run --feed DIR
                --allow-payments --payment-fixtures DIR/payment-fixtures.yaml'.
  availability  only the availability feed, written to --out PATH (a file; a directory gets
                availability.json).
  users         UserInformation records (JSON lines) for CreateBooking requests and load tests:
                --count N of them to --out FILE (default: stdout).

reproducibility:
  The same --seed and options give byte-identical files; another seed gives other data. Merchant i
  and its services and slots are the same whatever --merchants is. Slots start on
  --start (default: tomorrow, UTC) and are never earlier than 00:00 UTC of that day, so pass
  --start when you need identical files on different days.

verticals ({", ".join(VERTICALS)}):
  beauty   salon-NNNN: stylists as staff resources, one-hour starts, capacity 1
  dining   dining-NNNN: lunch/brunch/dinner seatings, one entry per party size (1-8), 1-3 tables each
  fitness  fitness-NNNN: weekly class timetable in rooms with 12-20 places; personal training (1)
  spa      spa-NNNN: treatment rooms (1), couples suite, sauna sessions for 6-10 guests
  Merchant i gets vertical i modulo the list. About 10% of beauty/dining/spa slots are
  CONFIRMATION_MODE_ASYNCHRONOUS; fitness is synchronous.

payments and offers (docs/payments.md):
  Each merchant also gets paid services, listed after all the others (they never change the free
  services or their slots), none of them on asynchronous slots:
  beauty   balayage (deposit), bridal-trial (card on file, REQUIRE_CREDIT_CARD_ALWAYS)
  dining   tasting-menu (no-show fee per guest); offers in offers.json: a daily early-bird window,
           an always-on offer and an expired one
  fitness  prepaid-hiit (paid at booking, per person, own tax rate, refund policy, payable with the
           studio's packs, membership and passes); online-yoga (SERVICE_TYPE_ONLINE_APPOINTMENT)
  spa      hot-stone (deposit), spa-day (paid at booking, refundable up to 48 h before)
  Merchants: a tax rate for some, Google Pay tokenization_config for all, cards without
  AMERICAN_EXPRESS for those with an even number (dining-0002, salon-0004, ...; salon-0001 takes AMEX).

locales: {", ".join(sorted(LOCALES))}
  Names, addresses, phone numbers (valid per libphonenumber), coordinates, time zones and currency
  follow the locale; several locales are mixed per merchant/user.

examples:
  bookcheck generate --seed 7 --merchants 25 --out feeds/
  bookcheck generate --seed 7 --merchants 10000 --days 30 --locale de_DE,fr_FR --out big/
  bookcheck generate availability --seed 7 --out avail.json
  bookcheck generate users --count 1000 --seed 7 --locale ja_JP --out users.jsonl
"""

_VALIDATE_EPILOG = """\
checks:
  schema/<keyword>                         the file against the JSON Schema of its layout
                                           (booking_protocol/feeds/*.schema.json)
  availability/spots-open-exceeds-total    spots_open > spots_total
  availability/unknown-merchant|service    a row names a merchant/service missing from the other feeds
  availability/duplicate-slot              the same slot twice (warning)
  service/unknown-merchant                 a service of a merchant missing from the merchant feed
  service/no-availability                  a service without any availability
  service/availability-horizon             availability ends before the last week of --min-days
  merchant/duplicate-id, service/duplicate-id
  service/payment-field, merchant/payment-field
                                           a money field the reader of 'serve' and 'run' refuses:
                                           price without integer price_micros or ISO 4217 currency,
                                           negative amount, unknown enum name (prepayment_type,
                                           require_credit_card, price_type, payment_option_type,
                                           credit_card_type), refund_percent outside 0-100, ...
  service/prepayment-without-price         prepayment_type REQUIRED without a price
  service/unknown-payment-option           payment_option_id the merchant does not sell
  service/payment-currency                 deposit/no-show fee in another currency (warning)
  offer/field, offer/duplicate-id, offer/unknown-merchant, offer/unknown-service   (offers.json)
  Cross-file checks run when the files they need are given (a directory gives all four).

output: one line per finding, 'FILE: JSON-PATH: message [rule]', then a summary.
exit codes: 0 valid (warnings allowed), 1 invalid, 2 usage error (missing/unreadable file).

examples:
  bookcheck validate-feed feeds/
  bookcheck validate-feed my_merchants.json my_services.json my_availability.json
  bookcheck validate-feed --format json availability.json
"""


def register(subparsers: Any) -> None:
    gen = subparsers.add_parser(
        "generate",
        help="fake merchants, services, availability and users (deterministic for a seed)",
        description="Generate realistic, reproducible fake partner data in Google's feed layouts.",
        epilog=_GENERATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gen.add_argument(
        "kind",
        nargs="?",
        choices=("feeds", "availability", "users"),
        default="feeds",
        help="what to generate (default: feeds)",
    )
    gen.add_argument(
        "--seed", type=int, default=1, help="random seed; same seed + options = same bytes (default 1)"
    )
    gen.add_argument(
        "--merchants", type=_positive, default=25, metavar="M", help="number of merchants (default 25)"
    )
    gen.add_argument(
        "--days",
        type=_positive,
        default=30,
        metavar="D",
        help="days of availability from --start (default 30, what Google requires)",
    )
    gen.add_argument(
        "--start",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="first day of availability (default: tomorrow, UTC)",
    )
    gen.add_argument(
        "--locale",
        type=_locales,
        default=(DEFAULT_LOCALE,),
        metavar="LOCALE[,LOCALE...]",
        help=f"Faker locale(s), comma-separated (default {DEFAULT_LOCALE})",
    )
    gen.add_argument(
        "--verticals",
        type=_verticals,
        default=DEFAULT_VERTICALS,
        metavar="V[,V...]",
        help=f"verticals to mix, or 'all' (default {','.join(DEFAULT_VERTICALS)})",
    )
    gen.add_argument(
        "--count", type=_positive, default=100, metavar="N", help="users: how many (default 100)"
    )
    gen.add_argument(
        "--out",
        default=None,
        metavar="PATH",
        help="feeds: output directory (required); availability: output file; users: file (default stdout)",
    )
    gen.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")
    gen.set_defaults(func=run_generate)

    val = subparsers.add_parser(
        "validate-feed",
        help="check merchant/service/availability feed files before uploading them",
        description="Check feed files against JSON Schemas of Google's layouts and the cross-file rules.",
        epilog=_VALIDATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    val.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="feed files, or a directory holding merchants.json, services.json, availability.json",
    )
    val.add_argument(
        "--min-days",
        type=_positive,
        default=30,
        metavar="D",
        help="days of availability each service needs (default 30, Google's requirement)",
    )
    val.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default text)"
    )
    val.add_argument(
        "--max-findings",
        type=_positive,
        default=100,
        metavar="N",
        help="print at most N findings (all are counted; default 100)",
    )
    val.set_defaults(func=run_validate)


# ------------------------------------------------------------------------------------ argument types


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must not be negative")
    return value


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-12-01") from None


def _locales(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    for name in names:
        try:
            locale_info(name)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return names or (DEFAULT_LOCALE,)


def _verticals(text: str) -> tuple[str, ...]:
    if text.strip() == "all":
        return tuple(VERTICALS)
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    for name in names:
        if name not in VERTICALS:
            raise argparse.ArgumentTypeError(f"unknown vertical {name!r}; known: {', '.join(VERTICALS)}, all")
    if not names:
        raise argparse.ArgumentTypeError("at least one vertical is needed")
    return names


# ----------------------------------------------------------------------------------------- generate


def run_generate(args: argparse.Namespace) -> ExitCode:
    if args.kind == "users":
        return _generate_users(args)
    if not args.out:
        raise UsageError(
            f"generate {args.kind}: --out is required ({'a directory' if args.kind == 'feeds' else 'a file'})"
        )
    from mock_server.datagen.writer import ALL_KINDS, AVAILABILITY_FILE, stderr_progress, write_feeds

    out = Path(args.out)
    kinds: tuple[str, ...] = ALL_KINDS
    avail_path: Path | None = None
    if args.kind == "availability":
        kinds = ("availability",)
        avail_path = out / AVAILABILITY_FILE if out.is_dir() else out
        out = avail_path.parent
    progress = None
    if not args.quiet and args.merchants >= PROGRESS_FROM:
        progress = stderr_progress(args.merchants)
    try:
        stats = write_feeds(
            out,
            seed=args.seed,
            merchants=args.merchants,
            days=args.days,
            start=args.start,
            verticals=args.verticals,
            locales=args.locale,
            progress=progress,
            kinds=kinds,
            availability_path=avail_path,
        )
    except OSError as exc:
        raise UsageError(f"cannot write to {exc.filename or out}: {exc.strerror or exc}") from None
    if not args.quiet:
        where = avail_path if avail_path else out
        print(
            f"wrote {where}: {stats.merchants} merchants, {stats.services} services, {stats.rows:,} "
            f"availability rows in {stats.seconds:.2f} s ({stats.rows_per_second:,.0f} rows/s)",
            file=sys.stderr,
        )
    return ExitCode.OK


def _generate_users(args: argparse.Namespace) -> ExitCode:
    from mock_server.datagen.users import iter_users

    fh: IO[bytes]
    try:
        fh = sys.stdout.buffer if args.out in (None, "-") else open(args.out, "wb")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot write to {args.out}: {exc.strerror or exc}") from None
    try:
        for user in iter_users(seed=args.seed, count=args.count, locales=args.locale):
            fh.write(orjson.dumps(user) + b"\n")
    except OSError as exc:
        raise UsageError(f"cannot write to {args.out or 'stdout'}: {exc.strerror or exc}") from None
    finally:
        if fh is not sys.stdout.buffer:
            fh.close()
        else:
            fh.flush()
    if not args.quiet and args.out not in (None, "-"):
        print(f"wrote {args.out}: {args.count} users", file=sys.stderr)
    return ExitCode.OK


# ----------------------------------------------------------------------------------------- validate


def run_validate(args: argparse.Namespace) -> ExitCode:
    from mock_server.datagen.validate import validate_paths

    report = validate_paths(
        args.paths, min_days=args.min_days
    )  # a UsageError is reported by bookcheck/cli.py
    if args.format == "json":
        doc = {
            "valid": report.valid,
            "files": report.files,
            "records": report.counts,
            "errors": len(report.errors),
            "warnings": len(report.warnings),
            "findings": [f.as_json() for f in report.findings[: args.max_findings]],
        }
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
        return ExitCode.OK if report.valid else EXIT_INVALID
    for finding in report.findings[: args.max_findings]:
        print(finding)
    hidden = len(report.findings) - args.max_findings
    if hidden > 0:
        print(f"... and {hidden} more (--max-findings)")
    files = ", ".join(
        f"{path} ({kind}, {report.counts.get(kind, 0)} records)" for path, kind in report.files.items()
    )
    verdict = "VALID" if report.valid else "INVALID"
    counts = f"{len(report.errors)} errors, {len(report.warnings)} warnings"
    print(f"{verdict}: {counts} in {files or 'no readable feed'}")
    return ExitCode.OK if report.valid else EXIT_INVALID
