// A page only some account roles may open (users: admins; catalog and campaigns:
// admins, controllers, analysts). The server refuses the rest anyway.
import type { ReactNode } from "react";
import { Link } from "react-router";
import type { Role } from "../../auth/store";
import { useSession } from "../../auth/useAuth";
import { useT, type MessageKey } from "../../i18n";

export function RequireRole({ roles, children }: { roles: readonly Role[]; children: ReactNode }) {
  const t = useT();
  const role = useSession()?.user.role;
  if (!role || !roles.includes(role)) {
    return (
      <div className="forbidden" data-testid="forbidden" role="alert">
        <h2>{t("common.forbiddenTitle")}</h2>
        <p>{t("pg.forbiddenPage", { role: role ? t(`role.${role}` as MessageKey) : t("role.none") })}</p>
        <Link to="/">{t("common.back")}</Link>
      </div>
    );
  }
  return <>{children}</>;
}
