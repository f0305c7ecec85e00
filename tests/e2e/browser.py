"""What the browser tests do on every page: sign in as a demo user through the sign-in form."""

from __future__ import annotations

import re
from typing import Any

from engine.cli.serve import DEMO_PASSWORD


def sign_in(page: Any, base: str, username: str) -> None:
    """Sign in through the form (English or Chinese labels) and wait for the inbox."""
    page.goto(f"{base}/login")
    page.get_by_label(re.compile("User name|用户名")).fill(username)
    page.get_by_label(re.compile("^(Password|密码)$")).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=re.compile("^(Sign in|登录)$")).click()
    page.wait_for_url(f"{base}/")
