"""knowledge revisions: a counter per kind (catalogue, faq) that live indexes watch

Revision ID: 0004
Revises: 0003
"""
from datetime import datetime

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table('kb_revisions',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('kind')
    )
    now = datetime.utcnow()
    op.bulk_insert(table, [{'kind': 'catalogue', 'number': 0, 'changed_at': now},
                           {'kind': 'faq', 'number': 0, 'changed_at': now}])


def downgrade() -> None:
    op.drop_table('kb_revisions')
