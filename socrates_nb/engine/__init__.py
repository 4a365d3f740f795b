"""Engines turn the state of a project into the next question and answers into items."""

from socrates_nb.engine.base import Engine, EngineContext, ItemDraft, QuestionDraft, get_engine

__all__ = ["Engine", "EngineContext", "ItemDraft", "QuestionDraft", "get_engine"]
