/**
 * Type tests (checked by `pnpm test`'s typecheck) for what examples/chat added to the framework:
 * auth's login by call, cluster's presenceWhileSuspended option.
 */
import { expectTypeOf } from 'vitest'
import type { Session } from '@echostream/kernel'
import type { AuthApi, Identity } from '@echostream/plugin-auth'
import type { ClusterOptions } from '@echostream/plugin-cluster'

export function authLogin(auth: AuthApi, session: Session): void {
  expectTypeOf(auth.login).parameters.toEqualTypeOf<[Session, unknown]>()
  expectTypeOf(auth.login(session, { user: 'ada', password: 'x' })).toEqualTypeOf<Promise<Identity>>()
  expectTypeOf(auth.logout).toEqualTypeOf<(session: Session) => void>()
  // @ts-expect-error -- a session is required
  void auth.login({ user: 'ada' })
}

export function clusterOptions(options: ClusterOptions): void {
  expectTypeOf(options.presenceWhileSuspended).toEqualTypeOf<boolean>()
}
