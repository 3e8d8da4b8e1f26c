"""Building the application from settings: in-process for one worker, or in each worker
process from environment variables (uvicorn's factory) when `serve --workers N` starts several."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

ENV = {"results": "CWOUTCOMES_RESULTS", "data": "CWOUTCOMES_DATA", "app_db": "CWOUTCOMES_APP_DB",
       "secure_cookies": "CWOUTCOMES_SECURE_COOKIES"}


@dataclass
class Settings:
    results: Path
    data: Path | None
    app_db: Path
    secure_cookies: bool = True

    def export(self) -> None:
        os.environ[ENV["results"]] = str(self.results)
        if self.data is not None:
            os.environ[ENV["data"]] = str(self.data)
        os.environ[ENV["app_db"]] = str(self.app_db)
        os.environ[ENV["secure_cookies"]] = "1" if self.secure_cookies else "0"

    @classmethod
    def from_environment(cls) -> "Settings":
        data = os.environ.get(ENV["data"])
        return cls(Path(os.environ[ENV["results"]]), Path(data) if data else None,
                   Path(os.environ[ENV["app_db"]]), os.environ.get(ENV["secure_cookies"], "1") != "0")


def build(settings: Settings) -> FastAPI:
    from cwoutcomes.web.app import create_app
    from cwoutcomes.web.appdb import AppDatabase
    from cwoutcomes.web.store import ResultsStore

    store = ResultsStore.open(settings.results, settings.data)
    return create_app(store, AppDatabase(settings.app_db), secure_cookies=settings.secure_cookies)


def app_from_environment() -> FastAPI:
    return build(Settings.from_environment())
