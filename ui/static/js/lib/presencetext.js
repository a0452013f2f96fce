// @ts-check
// What the artists panel says about the people online without a name. The
// server counts connections (activeUsers) and lists names; the difference
// is the unnamed, and when we have no name ourselves one of them is us: the
// page must not tell someone alone on the canvas that "1 without a name" is
// there with them. No DOM: unit-tested under node.

/**
 * The line under the artists list ('' when there is nothing to add).
 * @param {object} o
 * @param {string[]} o.users the named connections (a name once per connection)
 * @param {number} o.activeUsers every connection, named or not, ours included
 * @param {string} o.me our name, '' when we have none
 * @returns {string}
 */
export function unnamedText({ users, activeUsers, me }) {
  const unnamed = Math.max(0, activeUsers - users.length);
  if (me || unnamed === 0) return unnamed ? `+ ${unnamed} without a name` : '';
  const others = unnamed - 1;
  const you = 'You, without a name (type one above to be listed)';
  if (!others) return you;
  return `${you}, and ${others} ${others === 1 ? 'other' : 'others'} without a name`;
}
