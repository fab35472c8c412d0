/** Stands in for the app's existing billing code. */
export async function refundCharge(
  input: { chargeId: string; amountCents: number },
  options: { idempotencyKey: string | undefined },
): Promise<{ refundId: string }> {
  return { refundId: `re_${input.chargeId}_${options.idempotencyKey?.slice(-6) ?? 'nokey'}` };
}
