//! Chat channels, their mutes and messages, scoped by app.

use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite};
use tollgate_core::model::{ChatChannel, ChatMessage, ChatMute};
use tollgate_sql::{ms, ms_opt, ChatChannelRow, ChatMessageRow, ChatMuteRow, IntoModel};
use tollgate_store::{ChatStore, MessageCursor, StoreError, StoreResult};

use crate::error::db_err;
use crate::SqliteStore;

#[async_trait]
impl ChatStore for SqliteStore {
    async fn create_channel(&self, channel: &ChatChannel) -> StoreResult<()> {
        sqlx::query("INSERT INTO chat_channels (id, app_id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&channel.id)
            .bind(&channel.app_id)
            .bind(&channel.name)
            .bind(ms(&channel.created_at))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn list_channels(&self, app_id: &str) -> StoreResult<Vec<ChatChannel>> {
        sqlx::query("SELECT * FROM chat_channels WHERE app_id = $1 ORDER BY created_at, id")
            .bind(app_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(ChatChannelRow::decode)
            .collect()
    }

    async fn get_channel(&self, app_id: &str, channel_id: &str) -> StoreResult<Option<ChatChannel>> {
        sqlx::query("SELECT * FROM chat_channels WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(channel_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(ChatChannelRow::decode)
            .transpose()
    }

    async fn channel_by_name(&self, app_id: &str, name: &str) -> StoreResult<Option<ChatChannel>> {
        sqlx::query("SELECT * FROM chat_channels WHERE app_id = $1 AND name = $2")
            .bind(app_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(ChatChannelRow::decode)
            .transpose()
    }

    async fn delete_channel(&self, app_id: &str, channel_id: &str) -> StoreResult<bool> {
        // Messages and mutes cascade.
        let done = sqlx::query("DELETE FROM chat_channels WHERE app_id = $1 AND id = $2")
            .bind(app_id)
            .bind(channel_id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn mute_user(&self, mute: &ChatMute) -> StoreResult<()> {
        // Only a user and a channel of the mute's app (the SELECT yields no row otherwise).
        let done = sqlx::query(
            "INSERT INTO chat_mutes (app_id, channel_id, user_id, reason, until, created_at)
             SELECT c.app_id, c.id, u.id, $4, $5, $6
             FROM chat_channels c, app_users u
             WHERE c.app_id = $1 AND c.id = $2 AND u.app_id = $1 AND u.id = $3
             ON CONFLICT (channel_id, user_id)
             DO UPDATE SET reason = excluded.reason, until = excluded.until, created_at = excluded.created_at",
        )
        .bind(&mute.app_id)
        .bind(&mute.channel_id)
        .bind(&mute.user_id)
        .bind(&mute.reason)
        .bind(ms_opt(&mute.until))
        .bind(ms(&mute.created_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn unmute_user(&self, app_id: &str, channel_id: &str, user_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM chat_mutes WHERE app_id = $1 AND channel_id = $2 AND user_id = $3")
            .bind(app_id)
            .bind(channel_id)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_mutes(&self, app_id: &str, channel_id: &str) -> StoreResult<Vec<ChatMute>> {
        sqlx::query("SELECT * FROM chat_mutes WHERE app_id = $1 AND channel_id = $2 ORDER BY created_at, user_id")
            .bind(app_id)
            .bind(channel_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(ChatMuteRow::decode)
            .collect()
    }

    async fn get_mute(&self, app_id: &str, channel_id: &str, user_id: &str) -> StoreResult<Option<ChatMute>> {
        sqlx::query("SELECT * FROM chat_mutes WHERE app_id = $1 AND channel_id = $2 AND user_id = $3")
            .bind(app_id)
            .bind(channel_id)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(ChatMuteRow::decode)
            .transpose()
    }

    async fn post_message(&self, message: &ChatMessage) -> StoreResult<()> {
        // Only into a channel of the message's app.
        let done = sqlx::query(
            "INSERT INTO chat_messages (id, app_id, channel_id, user_id, username, message, created_at)
             SELECT $1, app_id, id, $4, $5, $6, $7 FROM chat_channels WHERE app_id = $2 AND id = $3",
        )
        .bind(&message.id)
        .bind(&message.app_id)
        .bind(&message.channel_id)
        .bind(&message.user_id)
        .bind(&message.username)
        .bind(&message.message)
        .bind(ms(&message.created_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn list_messages(
        &self,
        app_id: &str,
        channel_id: &str,
        after: Option<&MessageCursor>,
        limit: u32,
    ) -> StoreResult<Vec<ChatMessage>> {
        // Keyset: the seek is a range on the index `(channel_id, created_at DESC, id DESC)`, so a
        // page costs the same however deep it is.
        let mut q = QueryBuilder::<Sqlite>::new("SELECT * FROM chat_messages WHERE app_id = ");
        q.push_bind(app_id).push(" AND channel_id = ").push_bind(channel_id);
        if let Some(after) = after {
            q.push(" AND (created_at, id) < (")
                .push_bind(ms(&after.created_at))
                .push(", ")
                .push_bind(after.id.as_str())
                .push(")");
        }
        q.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(i64::from(limit));
        q.build().fetch_all(&self.pool).await.map_err(db_err)?.iter().map(ChatMessageRow::decode).collect()
    }
}
