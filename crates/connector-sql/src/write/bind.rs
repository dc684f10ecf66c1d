//! MySQL/MariaDB, SQLite and SQL Server writes: the records' JSON values bound as typed
//! parameters ([`BindValue`]): multi-row `INSERT` / upsert statements, update and delete
//! statement by statement.

use std::ops::Range;

use async_trait::async_trait;
use connector_sdk::{ConnectorError, ErrorKind, Operation, Record, RecordOutcome, WriteMode};
use serde_json::Value;

use super::{ChunkApply, Group, rejected};
use crate::db::{Db, sqlx_error};
use crate::dialect::{self, Engine};
use crate::introspect::ColumnInfo;
use crate::transaction;
use crate::values::{self, BindValue};

/// MySQL, SQLite, SQL Server: rows converted once to typed parameters.
pub struct BindWriter<'a> {
    db: &'a Db,
    group: &'a Group<'a>,
    /// The record index of each row converted.
    pub rows: Vec<usize>,
    /// The parameters of each row: for insert/upsert the columns in order; for update the
    /// columns to set then the key; for delete the key.
    binds: Vec<Vec<BindValue>>,
}

impl<'a> BindWriter<'a> {
    /// Converts the records `indexes` for `group` (a record whose value does not convert
    /// is rejected in `outcomes`).
    pub fn new(
        db: &'a Db,
        engine: Engine,
        group: &'a Group<'a>,
        records: &[Record],
        indexes: &[usize],
        outcomes: &mut [RecordOutcome],
    ) -> Self {
        let ordered: Vec<&ColumnInfo> = match group.mode {
            WriteMode::Insert | WriteMode::Upsert => group.columns.clone(),
            WriteMode::Update => {
                let mut columns = group.set_columns();
                columns.extend(
                    group
                        .key
                        .iter()
                        .filter_map(|k| group.columns.iter().copied().find(|c| &c.name == k)),
                );
                columns
            }
            WriteMode::Delete => group
                .key
                .iter()
                .filter_map(|k| group.columns.iter().copied().find(|c| &c.name == k))
                .collect(),
        };
        let mut rows = Vec::with_capacity(indexes.len());
        let mut binds = Vec::with_capacity(indexes.len());
        for &index in indexes {
            let converted: Result<Vec<BindValue>, String> = ordered
                .iter()
                .map(|c| {
                    let value = records[index].get(&c.name).unwrap_or(&Value::Null);
                    BindValue::from_json(value, &c.field_type, engine)
                        .map_err(|e| format!("field `{}`: {e}", c.name))
                })
                .collect();
            match converted {
                Ok(values) => {
                    rows.push(index);
                    binds.push(values);
                }
                Err(reason) => outcomes[index] = rejected(ErrorKind::Data, reason),
            }
        }
        Self {
            db,
            group,
            rows,
            binds,
        }
    }

    fn sql(&self, rows: usize) -> Result<String, ConnectorError> {
        let group = self.group;
        let columns = group.quoted_columns()?;
        let key = group.quoted_key()?;
        Ok(match group.mode {
            WriteMode::Insert => dialect::insert_sql(group.dialect, group.table, &columns, rows),
            WriteMode::Upsert => group.dialect.upsert_sql(group.table, &columns, &key, rows),
            WriteMode::Update => {
                let set = group
                    .set_columns()
                    .iter()
                    .map(|c| group.quote(&c.name))
                    .collect::<Result<Vec<_>, _>>()?;
                dialect::update_sql(group.dialect, group.table, &set, &key)
            }
            WriteMode::Delete => dialect::delete_sql(group.dialect, group.table, &key),
        })
    }

    fn sqlx_error(&self, err: sqlx::Error) -> ConnectorError {
        sqlx_error(Operation::Write, &err, self.group.config)
    }

    /// One multi-row statement (insert, upsert).
    async fn apply_batch(&self, range: Range<usize>) -> Result<(), ConnectorError> {
        let sql = self.sql(range.len())?;
        let binds = range.flat_map(|i| self.binds[i].iter().cloned());
        let mut outer = self.group.scope.lock().await;
        match self.db {
            Db::MySql(pool) => {
                let mut query = sqlx::query(&sql);
                for bind in binds {
                    query = values::mysql::bind(query, bind);
                }
                let mut tx = transaction::begin(pool, outer.as_deref_mut().and_then(|o| o.mysql()))
                    .await
                    .map_err(|e| self.sqlx_error(e))?;
                query
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.sqlx_error(e))?;
                tx.commit().await.map_err(|e| self.sqlx_error(e))?;
            }
            Db::Sqlite(pool) => {
                let mut query = sqlx::query(&sql);
                for bind in binds {
                    query = values::sqlite::bind(query, bind);
                }
                let mut tx =
                    transaction::begin(pool, outer.as_deref_mut().and_then(|o| o.sqlite()))
                        .await
                        .map_err(|e| self.sqlx_error(e))?;
                query
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.sqlx_error(e))?;
                tx.commit().await.map_err(|e| self.sqlx_error(e))?;
            }
            Db::Mssql(session) => {
                let mut guard = session.client(Operation::Write).await?;
                let client = guard
                    .as_mut()
                    .ok_or_else(|| ConnectorError::transient(Operation::Write, "not connected"))?;
                let mut query = tiberius::Query::new(sql);
                for bind in binds {
                    values::mssql::bind(&mut query, bind);
                }
                query
                    .execute(client)
                    .await
                    .map_err(|e| crate::mssql::error(Operation::Write, &e))?;
            }
            Db::Postgres(_) => {
                return Err(ConnectorError::unsupported(
                    Operation::Write,
                    "PostgreSQL writes go through COPY",
                ));
            }
        }
        Ok(())
    }

    /// Statement by statement in one transaction (update, delete): a row not found or
    /// refused is rejected alone.
    async fn apply_each(
        &self,
        range: Range<usize>,
    ) -> Result<Vec<(usize, RecordOutcome)>, ConnectorError> {
        let sql = self.sql(1)?;
        let mut special = Vec::new();
        let mut record =
            |index: usize, result: Result<u64, ConnectorError>| -> Result<(), ConnectorError> {
                match result {
                    Ok(0) => special.push((
                        index,
                        rejected(ErrorKind::NotFound, "no row with this primary key"),
                    )),
                    Ok(_) => {}
                    Err(err) if err.kind() == ErrorKind::Data => {
                        special.push((index, rejected(ErrorKind::Data, err.detail())))
                    }
                    Err(err) => return Err(err),
                }
                Ok(())
            };
        let mut outer = self.group.scope.lock().await;
        match self.db {
            Db::MySql(pool) => {
                let mut tx = transaction::begin(pool, outer.as_deref_mut().and_then(|o| o.mysql()))
                    .await
                    .map_err(|e| self.sqlx_error(e))?;
                for index in range {
                    let mut query = sqlx::query(&sql);
                    for bind in self.binds[index].iter().cloned() {
                        query = values::mysql::bind(query, bind);
                    }
                    let result = query
                        .execute(&mut *tx)
                        .await
                        .map(|r| r.rows_affected())
                        .map_err(|e| self.sqlx_error(e));
                    record(index, result)?;
                }
                tx.commit().await.map_err(|e| self.sqlx_error(e))?;
            }
            Db::Sqlite(pool) => {
                let mut tx =
                    transaction::begin(pool, outer.as_deref_mut().and_then(|o| o.sqlite()))
                        .await
                        .map_err(|e| self.sqlx_error(e))?;
                for index in range {
                    let mut query = sqlx::query(&sql);
                    for bind in self.binds[index].iter().cloned() {
                        query = values::sqlite::bind(query, bind);
                    }
                    let result = query
                        .execute(&mut *tx)
                        .await
                        .map(|r| r.rows_affected())
                        .map_err(|e| self.sqlx_error(e));
                    record(index, result)?;
                }
                tx.commit().await.map_err(|e| self.sqlx_error(e))?;
            }
            Db::Mssql(session) => {
                let mut guard = session.client(Operation::Write).await?;
                let client = guard
                    .as_mut()
                    .ok_or_else(|| ConnectorError::transient(Operation::Write, "not connected"))?;
                for index in range {
                    let mut query = tiberius::Query::new(sql.clone());
                    for bind in self.binds[index].iter().cloned() {
                        values::mssql::bind(&mut query, bind);
                    }
                    let result = query
                        .execute(&mut *client)
                        .await
                        .map(|r| r.total())
                        .map_err(|e| crate::mssql::error(Operation::Write, &e));
                    record(index, result)?;
                }
            }
            Db::Postgres(_) => {}
        }
        Ok(special)
    }
}

#[async_trait]
impl ChunkApply for BindWriter<'_> {
    async fn apply(
        &self,
        range: Range<usize>,
    ) -> Result<Vec<(usize, RecordOutcome)>, ConnectorError> {
        match self.group.mode {
            WriteMode::Insert | WriteMode::Upsert => {
                self.apply_batch(range).await?;
                Ok(Vec::new())
            }
            WriteMode::Update | WriteMode::Delete => self.apply_each(range).await,
        }
    }
}
