import { getLogger } from "@logtape/logtape";
import type { PgBoss } from "pg-boss";
import { TICK_QUEUE } from "./queue.ts";

const log = getLogger(["adsync", "queue"]);

/**
 * Applies `SYNC_SCHEDULE`: a cron expression (UTC) sends one tick to the tick queue per
 * occurrence, whichever workers run it (pg-boss claims each occurrence once); `"off"` removes
 * the stored schedule; undefined leaves it as it is, so workers started without the setting do
 * not undo another deployment's.
 */
export async function applySchedule(boss: PgBoss, schedule: string | undefined): Promise<void> {
  if (schedule === undefined) return;
  if (schedule === "off") {
    await boss.unschedule(TICK_QUEUE);
    log.info("Schedule removed");
    return;
  }
  const current = await boss.getSchedule(TICK_QUEUE);
  if (current?.cron === schedule) return;
  await boss.schedule(TICK_QUEUE, schedule, {}, { tz: "UTC" });
  log.info("Schedule set to {schedule} (UTC): every account is queued at each tick", { schedule });
}
