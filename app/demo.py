"""`controlroom demo`: a ready demo stream with its team, so every console can be opened."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from app.config import Settings
from app.db import create_engine, make_sessionmaker
from app.models import Role, User
from app.schemas.streams import StreamCreate
from app.schemas.users import UserCreate
from app.services import streams as streams_service
from app.services import team as team_service
from app.services import users as users_service

DEMO_USERS = [
    ("host", Role.host, "主播小美"),
    ("controller", Role.controller, "场控阿杰"),
    ("service", Role.service, "客服小林"),
    ("analyst", Role.analyst, "数据分析老周"),
]


async def run_demo(settings: Settings) -> None:
    engine = create_engine(settings.resolved_database_url)
    maker = make_sessionmaker(engine)
    printed: list[tuple[str, str, str]] = []
    async with maker() as session:
        generated_admin = await users_service.bootstrap_admin(session, settings)
        if generated_admin:
            printed.append(("admin", "admin", generated_admin))
        team: list[tuple[User, Role]] = []
        for username, role, name in DEMO_USERS:
            user = await session.scalar(select(User).where(User.username == username))
            if user is None:
                password = secrets.token_urlsafe(9)
                user = await users_service.create_user(
                    session,
                    UserCreate(username=username, password=password, role=role, display_name=name),
                )
                printed.append((username, role.value, password))
            team.append((user, role))
        controller = team[1][0]
        stream = await streams_service.create_stream(
            session, StreamCreate(title="双11 美妆专场 (演示)", planned_minutes=120), controller
        )
        for user, role in team:
            await team_service.set_member(session, stream.id, user.id, role)
        await session.commit()
    await engine.dispose()
    print(f"Demo stream #{stream.id} '{stream.title}' is ready.")
    if printed:
        print("Users created (passwords shown once):")
        for username, role_name, password in printed:
            print(f"  {username:<12} {role_name:<11} {password}")
    else:
        print("Demo users already existed; their passwords are unchanged.")
