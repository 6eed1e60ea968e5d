"""Run the card agent on the staff PC: ``python -m app.cardagent pair|run`` (docs/card-reader.md)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from pathlib import Path
from typing import Any

from app.cardagent import client
from app.cardagent.drivers import CardError, Drivers, SecretPrompt
from app.cardagent.pcsc import wait_for_card

DEFAULT_CREDENTIAL = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / (
    "kakanai-cardagent/credential.json"
)


def prompt_secret(route: str, card_number: str | None = None) -> SecretPrompt:
    """Ask the person at the desk for the PIN (or staff for 照合番号B / 在留カード番号), not echoed.

    For the 在留カード a number staff typed on the case page comes with the session and is
    used as is; without one, it is asked here.
    """

    def ask(left: int) -> str | None:
        if route == "zairyu":
            if card_number:
                return card_number
            typed = getpass.getpass(
                "在留カード番号（券面右上の12文字、英字2・数字8・英字2）を入力してください（空で取消）: "
            )
            return typed or None
        what = (
            "暗証番号（4桁）"
            if route == "pin"
            else "照合番号B（14桁：生年月日6・有効期限の西暦4・セキュリティコード4）"
        )
        print(f"残り{left}回です。", file=sys.stderr)
        if left == 1:
            print(
                "次に間違えるとカードがロックされます。確かでなければ照合番号Bで読み取ってください。",
                file=sys.stderr,
            )
        typed = getpass.getpass(f"{what}を入力してください（空で取消）: ")
        return typed or None

    return ask


def read_once(
    send: client.Send,
    credential: client.Credential,
    case_id: int,
    route: str,
    secret: SecretPrompt,
    *,
    timeout: float = 30.0,
    reader: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """Read the card on the reader once and send the result (or the failure) for ``case_id``."""
    try:
        card = wait_for_card(timeout, reader)
        try:
            raw = Drivers().choose(card).read(card, route=route, secret=secret)
        finally:
            card.close()
    except CardError as error:
        client.post(
            send, credential, "/cardreader/api/failures", client.failure_body(case_id, error.code)
        )
        return 0, {"error": {"code": error.code, "message": error.message}}
    return client.post(
        send, credential, "/cardreader/api/readings", client.reading_body(case_id, raw)
    )


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and pair or run."""
    parser = argparse.ArgumentParser(
        prog="kakanai-cardagent", description="マイナンバーカード・在留カード等読取エージェント"
    )
    parser.add_argument("--credential", type=Path, default=DEFAULT_CREDENTIAL)
    parser.add_argument("--cafile", help="サーバー証明書のCA（自治体内CAの場合）")
    sub = parser.add_subparsers(dest="command", required=True)
    pair_cmd = sub.add_parser("pair", help="窓口画面の登録コードで、この端末を登録する")
    pair_cmd.add_argument("server")
    pair_cmd.add_argument("--name", default=os.uname().nodename if hasattr(os, "uname") else "PC")
    run_cmd = sub.add_parser("run", help="窓口の受付に合わせてカードを読み取る")
    run_cmd.add_argument("--reader")
    args = parser.parse_args(argv)
    if args.command == "pair":
        code = getpass.getpass("窓口画面に表示された登録コード: ")  # typed, never in a URL or argv
        send = client.https_sender(args.server, args.cafile)
        try:
            credential = client.pair(send, args.server, code, args.name)
        except RuntimeError as error:
            print(error, file=sys.stderr)
            return 1
        credential.save(args.credential)
        print("登録しました。", file=sys.stderr)
        return 0
    try:
        credential = client.Credential.load(args.credential)
    except (OSError, ValueError, KeyError):
        print(
            f"この端末はまだ登録されていません（{args.credential}）。"
            "窓口画面で登録コードを発行し、kakanai-cardagent pair URL を実行してください。",
            file=sys.stderr,
        )
        return 2
    send = client.https_sender(credential.server, args.cafile)
    while True:
        try:
            session = client.poll(send, credential)
        except (RuntimeError, OSError) as error:
            print(error, file=sys.stderr)
            time.sleep(5)
            continue
        wanted = session.get("wanted")
        if not wanted:
            time.sleep(2)
            continue
        route = wanted["route"]
        print(f"受付 {session['case_number']}: カードを読取機に置いてください。", file=sys.stderr)
        _, reply = read_once(
            send,
            credential,
            int(session["case_id"]),
            route,
            prompt_secret(route, session.get("card_number")),
            reader=args.reader,
        )
        message = (reply.get("error") or {}).get(
            "message"
        ) or "読み取り結果を窓口画面に送りました。"
        print(message, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
