"""products and quotes: products, price lists and their prices; quotes, their lines and number counters

``uq_products_sku`` and ``ix_products_name_key`` use ``text_pattern_ops`` on PostgreSQL, as the model
declares: the ``q`` prefix filter of the product list (``LIKE 'prefix%'``) reads them whatever the
database's collation.

Revision ID: sales0002
Revises: d01c9ae85e67
Create Date: 2026-12-10 10:00:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import crm_kit.records.db
from services.sales.models.orders import Quantity  # exact quantities (text on SQLite, NUMERIC(18,3) elsewhere)

# revision identifiers, used by Alembic.
revision: str = 'sales0002'
down_revision: Union[str, Sequence[str], None] = 'd01c9ae85e67'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_money = crm_kit.records.db.Money(precision=18, scale=2)
_time = crm_kit.records.db.UtcDateTime(timezone=True)


def _record_columns() -> list:
    return [sa.Column('created_by', sa.String(length=36), nullable=True),
            sa.Column('version', sa.Integer(), nullable=False),
            sa.Column('created_at', _time, nullable=False),
            sa.Column('updated_at', _time, nullable=False)]


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('products',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('unit_price', _money, nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    *_record_columns(),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products'))
    )
    op.create_index('uq_products_sku', 'products', ['sku'], unique=True, postgresql_ops={'sku': 'text_pattern_ops'})
    op.create_index('ix_products_name_key', 'products', ['name_key'], unique=False,
                    postgresql_ops={'name_key': 'text_pattern_ops'})
    op.create_index('ix_products_active_id', 'products', ['active', 'id'], unique=False)
    op.create_index('ix_products_category_id', 'products', ['category', 'id'], unique=False)

    op.create_table('price_lists',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    *_record_columns(),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_lists'))
    )
    op.create_index('uq_price_lists_name', 'price_lists', ['name'], unique=True)
    op.create_index('ix_price_lists_active_id', 'price_lists', ['active', 'id'], unique=False)

    op.create_table('price_list_prices',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('price_list_id', sa.String(length=36), nullable=False),
    sa.Column('product_id', sa.String(length=36), nullable=False),
    sa.Column('price', _money, nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['price_list_id'], ['price_lists.id'],
                            name=op.f('fk_price_list_prices_price_list_id_price_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'],
                            name=op.f('fk_price_list_prices_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_list_prices'))
    )
    op.create_index('ix_price_list_prices_price_list_id_product_id', 'price_list_prices',
                    ['price_list_id', 'product_id'], unique=False)
    op.create_index('ix_price_list_prices_product_id', 'price_list_prices', ['product_id'], unique=False)

    op.create_table('quotes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('opportunity_id', sa.String(length=36), nullable=False),
    sa.Column('customer_id', sa.String(length=36), nullable=False),
    sa.Column('owner_id', sa.String(length=36), nullable=True),
    sa.Column('department_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('price_list_id', sa.String(length=36), nullable=True),
    sa.Column('discount_percent', _money, nullable=False),
    sa.Column('subtotal', _money, nullable=False),
    sa.Column('discount_amount', _money, nullable=False),
    sa.Column('total', _money, nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('order_id', sa.String(length=36), nullable=True),
    sa.Column('submitted_at', _time, nullable=True),
    sa.Column('approved_at', _time, nullable=True),
    sa.Column('closed_at', _time, nullable=True),
    *_record_columns(),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quotes'))
    )
    op.create_index('uq_quotes_number', 'quotes', ['number'], unique=True)
    op.create_index('ix_quotes_opportunity_id_id', 'quotes', ['opportunity_id', 'id'], unique=False)
    op.create_index('ix_quotes_customer_id_id', 'quotes', ['customer_id', 'id'], unique=False)
    op.create_index('ix_quotes_owner_id_id', 'quotes', ['owner_id', 'id'], unique=False)
    op.create_index('ix_quotes_department_id_id', 'quotes', ['department_id', 'id'], unique=False)
    op.create_index('ix_quotes_status_id', 'quotes', ['status', 'id'], unique=False)
    op.create_index('ix_quotes_status_valid_until', 'quotes', ['status', 'valid_until'], unique=False)

    op.create_table('quote_lines',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('quote_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.String(length=36), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('quantity', Quantity(precision=18, scale=3), nullable=False),
    sa.Column('unit_price', _money, nullable=False),
    sa.Column('discount_percent', _money, nullable=False),
    sa.Column('line_total', _money, nullable=False),
    sa.Column('price_list_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_lines_quote_id_quotes'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_lines'))
    )
    op.create_index('ix_quote_lines_quote_id_position', 'quote_lines', ['quote_id', 'position'], unique=False)
    op.create_index('ix_quote_lines_product_id', 'quote_lines', ['product_id'], unique=False)

    op.create_table('quote_number_counters',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_quote_number_counters'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('quote_number_counters')
    op.drop_index('ix_quote_lines_product_id', table_name='quote_lines')
    op.drop_index('ix_quote_lines_quote_id_position', table_name='quote_lines')
    op.drop_table('quote_lines')
    for name in ('ix_quotes_status_valid_until', 'ix_quotes_status_id', 'ix_quotes_department_id_id',
                 'ix_quotes_owner_id_id', 'ix_quotes_customer_id_id', 'ix_quotes_opportunity_id_id',
                 'uq_quotes_number'):
        op.drop_index(name, table_name='quotes')
    op.drop_table('quotes')
    op.drop_index('ix_price_list_prices_product_id', table_name='price_list_prices')
    op.drop_index('ix_price_list_prices_price_list_id_product_id', table_name='price_list_prices')
    op.drop_table('price_list_prices')
    op.drop_index('ix_price_lists_active_id', table_name='price_lists')
    op.drop_index('uq_price_lists_name', table_name='price_lists')
    op.drop_table('price_lists')
    for name in ('ix_products_category_id', 'ix_products_active_id', 'ix_products_name_key', 'uq_products_sku'):
        op.drop_index(name, table_name='products')
    op.drop_table('products')
