"""dossier notifications: citizens' subscriptions to a dossier's status, and the outbox of their messages

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dossier_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tracking_code', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('sender_id', sa.String(length=128), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('last_status', sa.String(length=24), nullable=False),
    sa.Column('last_status_at', sa.DateTime(), nullable=False),
    sa.Column('changes', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tracking_code', 'channel', 'sender_id')
    )
    with op.batch_alter_table('dossier_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_subscriptions_tracking_code'), ['tracking_code'], unique=False)
    op.create_table('dossier_notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('change', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['subscription_id'], ['dossier_subscriptions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subscription_id', 'change')
    )
    with op.batch_alter_table('dossier_notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_notifications_state'), ['state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dossier_notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_notifications_state'))
    op.drop_table('dossier_notifications')
    with op.batch_alter_table('dossier_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_subscriptions_tracking_code'))
    op.drop_table('dossier_subscriptions')
