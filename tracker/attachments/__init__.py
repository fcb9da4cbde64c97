"""Attachments: files on issues and comments, kept on local disk or in an S3-compatible bucket, served safely."""

from flask import Blueprint

bp = Blueprint("attachments", __name__)

from . import views  # noqa: E402,F401
